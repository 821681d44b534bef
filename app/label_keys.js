// The multi-label Annotate page's label keys: a key clicks its label's checkbox in the
// browser, as a mouse click would. Each key used to be a Streamlit button shortcut, a
// one-shot trigger sent to the server; a quick typist's keys arrived while a rerun was
// going on and Streamlit dropped some of them (it coalesces or replaces pending reruns).
// A checkbox's value is state, not an event: every message carries all of them, so the
// last one to arrive holds every key pressed before it.
export default function (component) {
  const classes = component.data.keys; // "4", "a", "shift+a" -> the checkbox's st-key class
  if (window.__labelingLabelKeys) window.__labelingLabelKeys(); // one listener per page
  const typing = (target) => target && (target.isContentEditable
    || target.tagName === "TEXTAREA" || target.tagName === "SELECT"
    || (target.tagName === "INPUT" && target.type !== "checkbox"));
  const onKey = (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat || event.isComposing
        || typing(event.target) || !event.key) return;
    const cls = classes[(event.shiftKey ? "shift+" : "") + event.key.toLowerCase()];
    const holder = cls && document.getElementsByClassName(cls)[0];
    const box = holder && holder.querySelector("input[type='checkbox']");
    if (!box || box.disabled) return;
    event.preventDefault();
    event.stopPropagation();
    box.click();
  };
  document.addEventListener("keydown", onKey, true);
  const remove = () => {
    document.removeEventListener("keydown", onKey, true);
    if (window.__labelingLabelKeys === remove) delete window.__labelingLabelKeys;
  };
  window.__labelingLabelKeys = remove;
  return remove;
}
