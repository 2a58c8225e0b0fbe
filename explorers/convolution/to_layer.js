// After a click on the layer overview has opened a layer: its section, below the first screen, comes into view from
// its title, with the Layer choice and the feature maps (CNN Explainer opens a layer's detail where the overview is;
// here the detail is the section below it).
() => {
  document.getElementById("cnn-maps-title")?.scrollIntoView({behavior: "smooth", block: "start"});
}
