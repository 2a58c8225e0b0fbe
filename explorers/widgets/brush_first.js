// Gradio's sketch pad opens with no tool chosen ("select the draw tool to start"), so a drag selects text, and it
// has no parameter for the first tool: this clicks the brush (the first tool button; its label is translated) of
// each pad made by sketchpad() once it is drawn, which happens when its tab is first opened.
() => {
  if (window.glassboxBrushFirst) return;
  window.glassboxBrushFirst = true;
  const pick = () => document.querySelectorAll(".glassbox-brush-first:not([data-brush-picked])").forEach((pad) => {
    const brush = pad.querySelector(".toolbar-wrap .half-container button");
    if (!brush) return;
    pad.dataset.brushPicked = "1";
    brush.click();
  });
  new MutationObserver(pick).observe(document.body, {childList: true, subtree: true});
  pick();
}
