// Gradio's slider box commits a typed value only when it loses focus; Enter makes it lose focus, as a person expects.
() => {
  if (window.glassboxEnterCommits) return;
  window.glassboxEnterCommits = true;
  document.addEventListener("keydown", (e) => {
    const box = e.target;
    if (e.key === "Enter" && box instanceof HTMLInputElement && box.type === "number"
        && box.closest(".block")?.querySelector("input[type=range]")) box.blur();
  }, true);
}
