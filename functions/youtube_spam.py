"""Labeling functions for YouTube comment spam (the bundled example task).

The kinds a spam-labeling practitioner writes first: keywords and regexes for the
calls to action spammers use, heuristics on length and shape, spaCy rules for links
and "my channel"-style phrases, and natural-language prompts for an LLM. Each votes
SPAM or HAM, or abstains; the label model learns how far to trust each.

Without an endpoint configured (no OPENAI_BASE_URL / OPENAI_API_KEY), the prompt LFs
are answered offline by the local zero-shot backend (MiniLM sentence embeddings:
the text against each answer's `descriptions`).
"""

from labeling import ABSTAIN, entity_lf, keyword_lf, labeling_function, matcher_lf, regex_lf
from labeling.llm import prompt_lf

HAM, SPAM = 0, 1  # the order of `labels` in labeling.toml

# --- keywords and regexes: calls to action (vectorized by the applier) ---
subscribe = keyword_lf(["subscribe", "subscribing", "subscriber", "subscribers", "sub4sub"],
                       label=SPAM, name="kw_subscribe")
check_out = regex_lf(r"\bcheck\s+(it\s+|this\s+|my\s+|our\s+|out\s+)?out\b|\bcheck\s+(my|our)\b",
                     label=SPAM, name="re_check_out")
my_stuff = regex_lf(r"\b(my|our)\s+(new\s+)?(channel|videos?|vids?|music|songs?|covers?|page|"
                    r"account|playlist|website|blog|band|album|mixtape)\b",
                    label=SPAM, name="re_my_channel")
link = regex_lf(r"https?://|www\.|\.com\b|\.net\b|\.org\b|bit\.ly", label=SPAM, name="re_link")
please_like = regex_lf(r"\b(please|plz|pls)\b.{0,40}\b(like|share|visit|watch|help|support|"
                       r"view|follow)\b", label=SPAM, name="re_please_action")
money = keyword_lf(["money", "cash", "earn", "free", "gift card", "giveaway", "prize",
                    "income", "surveys", "promo", "discount", "paypal"],
                   label=SPAM, name="kw_money")
social = keyword_lf(["facebook", "instagram", "twitter", "soundcloud", "vimeo", "ebay",
                     "amazon", "follow me", "add me"], label=SPAM, name="kw_social")
song_praise = regex_lf(r"\b(love|like|best|great|amazing|awesome|beautiful|favou?rite|cool)\b"
                       r".{0,25}\b(song|video|music|voice|dance|beat|clip)\b",
                       label=HAM, name="re_song_praise")
views_talk = regex_lf(r"\b(billion|million)\b.{0,20}\bviews?\b|\bviews\b.{0,20}\b(billion|million)\b",
                      label=HAM, name="re_views_talk")


# --- heuristics: shape of the comment ---
@labeling_function()
def short_comment(x):
    """Very short comments ('so cute', 'goood') are reactions, rarely spam."""
    return HAM if len(x.text.split()) <= 5 and "http" not in x.text.lower() else ABSTAIN


@labeling_function()
def shouting(x):
    """Long comments mostly in capitals are usually promotion."""
    letters = [c for c in x.text if c.isalpha()]
    if len(letters) < 30:
        return ABSTAIN
    upper = sum(c.isupper() for c in letters) / len(letters)
    return SPAM if upper > 0.6 else ABSTAIN


@labeling_function()
def artist_name(x):
    """Mentions of the video's artists point to comments about the video itself."""
    text = x.text.lower()
    names = ("psy", "katy", "perry", "lmfao", "eminem", "rihanna", "shakira", "gangnam")
    return HAM if any(n in text for n in names) and "channel" not in text else ABSTAIN


# --- spaCy: rule-based entities and token patterns (work with spacy.blank("en")) ---
url_entity = entity_lf("ent_url_or_email", ["URL", "EMAIL"], label=SPAM)
go_to_channel = matcher_lf(
    "match_visit_my",
    [[{"LOWER": {"IN": ["visit", "see", "watch", "view", "listen"]}},
      {"LOWER": {"IN": ["my", "our"]}, "OP": "?"},
      {"LOWER": {"IN": ["channel", "videos", "video", "page", "music", "songs"]}}],
     [{"LOWER": {"IN": ["thumbs", "like"]}}, {"LOWER": {"IN": ["up", "this"]}},
      {"LOWER": {"IN": ["if", "so", "comment"]}}]],
    label=SPAM,
)


# --- prompts: answered by an LLM endpoint, or offline by the local backend ---
llm_asks_to_visit = prompt_lf(
    "llm_asks_to_visit",
    "Does this comment ask the reader to visit, follow or subscribe to something?\n"
    "Comment: {text}",
    answers={"yes": SPAM, "no": ABSTAIN},
    descriptions={"yes": "check out my channel, subscribe to me, visit my website link",
                  "no": "a comment reacting to this song or music video"},
)
llm_promotion = prompt_lf(
    "llm_promotion",
    "Is this comment advertising a product, a channel, money or a website?\nComment: {text}",
    answers={"yes": SPAM, "no": ABSTAIN},
    descriptions={"yes": "advertisement: make money online, free gift cards, buy now, promo",
                  "no": "an opinion about the song, the singer or the video"},
)
llm_spam_or_ham = prompt_lf(
    "llm_spam_or_ham",
    "Is this YouTube comment spam (self-promotion, links, requests to subscribe) or a "
    "genuine comment about the video?\nComment: {text}",
    labels={"spam": "spam: promotes a channel, a link or a product, asks to subscribe",
            "ham": "a genuine comment about the song, the artist or the video"},
    descriptions={"spam": "subscribe to my channel, check out my music, visit my website link",
                  "ham": "this song is so good, I love it, who is watching in 2015"},
)
