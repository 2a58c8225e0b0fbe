"""The convolution explorer's core: kernel maths on images and matrices (conv), the CNNs it opens and their layers
(vision_models), what a CNN computes on one image (features), Grad-CAM (gradcam), and its figures (figures)."""
