// A tab's numbered path (explorers/path.py): a step's link scrolls to its view. Gradio renders an inner tab's
// components only once the tab is opened, so a step whose view lives in an inner tab first clicks that tab's button
// (the nearest one with that label, looking outwards from the path), then waits for the view to appear.
() => {
  if (window.glassboxPath) return;
  window.glassboxPath = true;
  const WAIT_MS = 5000;  // an inner tab's first opening may build heavy components

  function tabButton(from, label) {
    for (let node = from.parentElement; node; node = node.parentElement) {
      const button = [...node.querySelectorAll("[role=tab]")].find((b) => b.textContent.trim() === label);
      if (button) return button;
    }
    return null;
  }

  function whenShown(id, then) {
    const start = performance.now();
    const look = () => {
      const el = document.getElementById(id);
      if (el && el.offsetParent !== null) then(el);
      else if (performance.now() - start < WAIT_MS) requestAnimationFrame(look);
    };
    look();
  }

  document.addEventListener("click", (e) => {
    const link = e.target.closest?.(".gb-path a[data-target]");
    if (!link) return;
    e.preventDefault();
    const button = link.dataset.tab && tabButton(link, link.dataset.tab);
    if (button && button.getAttribute("aria-selected") !== "true") button.click();
    whenShown(link.dataset.target, (el) => {
      el.scrollIntoView({behavior: "smooth", block: "start"});
      // A moment's outline says which view the step meant, where several sit side by side.
      el.classList.add("gb-flash");
      setTimeout(() => el.classList.remove("gb-flash"), 1500);
    });
  });
}
