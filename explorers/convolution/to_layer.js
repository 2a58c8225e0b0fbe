// After a click on the layer overview has opened a layer: its feature maps, below the first screen, come into view
// (CNN Explainer opens a layer's detail where the overview is; here the detail is the section below it).
() => {
  document.getElementById("cnn-feature-grid")?.scrollIntoView({behavior: "smooth", block: "start"});
}
