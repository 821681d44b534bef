// The Annotate pages' keys after a pick with the mouse. Streamlit ignores its button
// shortcuts while the focus is on any <input>, and a select box, toggle or checkbox keeps
// the focus after a click: having chosen a split or slice with the mouse, an annotator's
// "2" went into the slice box's search ("No results") and no key labeled anything until
// they clicked somewhere blank. A pick made, the focus leaves such an input (the Tab
// order stays where it was); text boxes and an open list keep it.
export default function () {
  if (window.__labelingKeysAfterPicks) window.__labelingKeysAfterPicks(); // one per page
  const settle = () => setTimeout(() => {
    const box = document.activeElement;
    if (!box || box.tagName !== "INPUT") return;
    const closedList = box.getAttribute("role") === "combobox"
      && box.getAttribute("aria-expanded") !== "true";
    if (closedList || box.type === "checkbox" || box.type === "radio") box.blur();
  }, 0);
  document.addEventListener("click", settle, true);
  const remove = () => {
    document.removeEventListener("click", settle, true);
    if (window.__labelingKeysAfterPicks === remove) delete window.__labelingKeysAfterPicks;
  };
  window.__labelingKeysAfterPicks = remove;
  return remove;
}
