// An endpoint's picker (vae-a-gallery, vae-b-gallery): the ten gallery samples as small thumbnails, each named by
// its class (title and aria-label, too small for a caption). A click tells Python which one (trigger "select" with
// its index, as a gr.Gallery's select would). No ring stays on the one clicked: a random sample, a drawing or an
// upload may replace it, and the image box beside the thumbnails shows what is picked.
const gb = window.glassbox;
const grid = element.querySelector(".vpk-grid");

const update = () => {
  const v = props.value;
  if (!v || !v.items) return;
  grid.replaceChildren(...v.items.map((item, index) => {
    const button = document.createElement("button"), img = document.createElement("img");
    button.type = "button";
    button.className = "thumbnail-item";  // the class gr.Gallery gives its thumbnails: tests and benchmarks click it
    button.title = item.name;
    button.setAttribute("aria-label", item.name);
    img.src = item.src;
    img.alt = item.name;
    button.append(img);
    button.addEventListener("click", () => trigger("select", {index, value: item.name}));
    return button;
  }));
  gb.drawn(element);
};
watch("value", update);
update();
