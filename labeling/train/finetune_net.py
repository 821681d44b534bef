"""The torch side of ``minilm_finetune`` (:mod:`labeling.train.finetune`): the network,
building it from the model package or a fitted state, the training loop, prediction.

Two output kinds share all of it (``output``, the estimator's ``OUTPUT``): ``"softmax"``,
one class per text (soft cross-entropy), and ``"sigmoid"``, ``k`` independent labels per
text (binary cross-entropy per label; :mod:`labeling.train.finetune_multilabel`)."""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn

from labeling.llm.minilm import quiet_transformers
from labeling.train.finetune_data import encode, length_batches, model_dir, token_lengths


class MeanPoolClassifier(nn.Module):
    """Encoder -> masked mean of the token vectors -> dropout -> linear: logits."""

    def __init__(self, encoder: nn.Module, n_classes: int, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, n_classes)

    def forward(self, input_ids, attention_mask):
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return self.head(self.dropout(pooled))


class LabelAndProbabilities(nn.Module):
    """The export's graph: ``(label int64 [N], probabilities float32 [N, k])``, the two
    outputs every ONNX end model of ours has. With ``thresholds`` (multi-label): sigmoid
    probabilities, one per label, and ``label`` int64 ``[N, k]``, 1 where a label's
    probability reaches its threshold (as the multi-label TF-IDF graph decides).

    The comparison is in float64: each float32 probability cast up (exactly) against the
    float64 threshold, the rule `labeling predict` and `labeling serve` apply to the same
    float32 output read into float64 against the card's (float64) thresholds. In float32
    the threshold would be rounded first, and a probability equal to that rounding but
    below the true threshold got the label here and not there (found in review, #16)."""

    def __init__(self, classifier: MeanPoolClassifier, thresholds=None):
        super().__init__()
        self.classifier = classifier
        self.multi_label = thresholds is not None
        if self.multi_label:
            self.register_buffer("thresholds", torch.tensor(np.asarray(thresholds),
                                                            dtype=torch.float64))

    def forward(self, input_ids, attention_mask):
        logits = self.classifier(input_ids, attention_mask)
        if self.multi_label:
            proba = torch.sigmoid(logits)
            return (proba.double() >= self.thresholds).long(), proba
        proba = torch.softmax(logits, dim=-1)
        return proba.argmax(dim=-1), proba


def build_encoder(model_path: str | None = None, pretrained: bool = True,
                  attention: str | None = None) -> nn.Module:
    """The MiniLM encoder (a BertModel), with the package's weights or none (to be
    loaded from a fitted ``state_``). ``attention="eager"``: the plain attention ops,
    which the ONNX tracer exports for any batch and sequence length."""
    from transformers import AutoConfig, AutoModel  # heavy: only when a network is built

    path = str(model_dir(model_path))
    kwargs = {"attn_implementation": attention} if attention else {}
    with quiet_transformers():
        if pretrained:
            return AutoModel.from_pretrained(path, **kwargs)
        return AutoModel.from_config(AutoConfig.from_pretrained(path), **kwargs)


def soft_ce(logits, targets, weights):
    """Per-row ``w * sum_c -t_c log q_c``."""
    return -(targets * torch.log_softmax(logits, dim=-1)).sum(dim=-1) * weights


def soft_bce(logits, targets, weights):
    """Per-row ``w * sum_c BCE(sigmoid(z_c), t_c)``: the sum of ``k`` independent heads'
    losses against soft targets in [0, 1] (each label's head gets the row's weight, as
    the multi-label frozen heads do)."""
    return nn.functional.binary_cross_entropy_with_logits(
        logits, targets, reduction="none").sum(dim=-1) * weights


LOSSES = {"softmax": soft_ce, "sigmoid": soft_bce}
ACTIVATIONS = {"softmax": lambda logits: torch.softmax(logits, dim=-1),
               "sigmoid": torch.sigmoid}


def make_optimizer(net, lr: float, head_lr: float, weight_decay: float, warmup: float,
                   total_steps: int):
    """AdamW (no decay on biases and LayerNorm; the new head at ``head_lr``) and a linear
    warm-up over ``warmup`` of the steps, then a linear decay to 0."""
    head = [p for n, p in net.named_parameters() if n.startswith("head.")]
    decay, no_decay = [], []
    for name, p in net.named_parameters():
        if not name.startswith("head."):
            (no_decay if name.endswith("bias") or "LayerNorm" in name else decay).append(p)
    optimizer = torch.optim.AdamW([
        {"params": decay, "lr": lr, "weight_decay": weight_decay},
        {"params": no_decay, "lr": lr, "weight_decay": 0.0},
        {"params": head, "lr": head_lr, "weight_decay": weight_decay},
    ])
    warm = max(1, int(round(warmup * total_steps)))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (total_steps - step) / max(1, total_steps - warm))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def held_out_loss(net, tokenizer, texts, targets, weights, batch_size: int,
                  loss=soft_ce) -> float:
    """The weighted ``loss`` (soft cross-entropy) of ``net`` on rows it does not train on."""
    net.eval()
    total = 0.0
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            part = slice(start, start + batch_size)
            ids, mask = (torch.from_numpy(a) for a in encode(tokenizer, texts[part]))
            total += loss(net(ids, mask), targets[part], weights[part]).sum().item()
    net.train()
    return total / float(weights.sum())


def train(net, tokenizer, texts, targets, weights, held, est, rng, start, bar=None):
    """Run up to ``est.epochs`` epochs on the rows not ``held`` out (``est``: the
    estimator, for its parameters and ``OUTPUT``, which picks the loss); returns the
    per-epoch record (the last one's ``stopped`` says why the schedule was cut short:
    ``max_time`` or ``early_stopping``), the epoch whose weights ``net`` ends with (the
    best held-out loss, else the last), and a boolean mask of the rows the batches fed to
    ``net`` in training
    (marked where the loop takes them, so it says what was trained on, not what was
    meant to be: a held-out row in it would have taught the model)."""
    loss_of = LOSSES[getattr(est, "OUTPUT", "softmax")]
    lengths = token_lengths(tokenizer, texts)
    fit_rows = np.flatnonzero(~held)
    targets_t = torch.tensor(targets, dtype=torch.float32)
    weights_t = torch.tensor(weights / weights[fit_rows].mean(), dtype=torch.float32)
    batch_size, epochs = int(est.batch_size), int(est.epochs)
    optimizer, scheduler = make_optimizer(
        net, float(est.lr), float(est.head_lr), float(est.weight_decay), float(est.warmup),
        math.ceil(len(fit_rows) / batch_size) * epochs)
    history, best, best_state, best_epoch, stale = [], math.inf, None, 0, 0
    out_of_time = False
    trained = np.zeros(len(texts), dtype=bool)
    for epoch in range(1, epochs + 1):
        net.train()
        running = None
        batches = length_batches(lengths[fit_rows], batch_size, rng)
        for step, batch in enumerate(batches):
            rows = fit_rows[batch]
            trained[rows] = True
            ids, mask = (torch.from_numpy(a) for a in encode(tokenizer, texts[rows]))
            loss = loss_of(net(ids, mask), targets_t[rows], weights_t[rows]).mean()
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            running = loss.item() if running is None else 0.9 * running + 0.1 * loss.item()
            if bar is not None:
                bar.update(1)
                bar.set_postfix(epoch=epoch, loss=f"{running:.4f}")
            if est.max_time is not None and time.perf_counter() - start > float(est.max_time):
                out_of_time = step + 1 < len(batches) or epoch < epochs  # steps left: cut
                break
        record = {"epoch": epoch, "train_loss": round(float(running or 0.0), 5)}
        if held.any():
            record["val_loss"] = round(held_out_loss(
                net, tokenizer, texts[held], targets_t[held], weights_t[held],
                int(est.predict_batch_size), loss_of), 5)
            if record["val_loss"] < best - 1e-6:
                best, best_epoch, stale = record["val_loss"], epoch, 0
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            else:
                stale += 1
        history.append(record)
        if out_of_time or (held.any() and stale >= int(est.patience)):
            if out_of_time or epoch < epochs:  # said: a time budget cut it silently before
                record["stopped"] = "max_time" if out_of_time else "early_stopping"
            break
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    return history, (best_epoch if best_state is not None else len(history)), trained


def fit_network(est, texts, targets, weights, held, tokenizer, rng, start, bar=None):
    """``(history, best epoch, state dict as NumPy arrays, mask of the rows trained on)``:
    a new head on the package's MiniLM, trained with torch's RNG seeded from ``est.seed``
    (forked: the caller's stream is left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(est.seed))
        net = MeanPoolClassifier(build_encoder(est.model_path), targets.shape[1],
                                 float(est.dropout))
        history, best_epoch, trained = train(net, tokenizer, texts, targets, weights, held,
                                             est, rng, start, bar)
    state = {name: value.detach().numpy().copy() for name, value in net.state_dict().items()}
    return history, best_epoch, state, trained


def load_network(state: dict, n_classes: int, model_path=None, dropout: float = 0.1,
                 attention: str | None = None) -> MeanPoolClassifier:
    """The fitted network from its state (NumPy arrays), in eval mode."""
    net = MeanPoolClassifier(build_encoder(model_path, pretrained=False, attention=attention),
                             n_classes, dropout)
    net.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()})
    return net.eval()


def predict_proba(net, tokenizer, texts: list[str], batch_size: int,
                  output: str = "softmax") -> np.ndarray:
    """Probabilities (float64; ``output``: softmax over classes or a sigmoid per label),
    texts batched by length so batches pad little."""
    activation = ACTIVATIONS[output]
    out = np.zeros((len(texts), net.head.out_features), dtype=np.float64)
    order = np.argsort([len(t) for t in texts], kind="stable")
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            ids, mask = (torch.from_numpy(a) for a in encode(tokenizer, [texts[i] for i in rows]))
            out[rows] = activation(net(ids, mask)).double().numpy()
    return out
