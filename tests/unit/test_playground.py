"""The Convolution playground's values and handlers (explorers.convolution.playground), without a browser."""
import numpy as np
import pytest

from core.convolution import conv
from core.convolution.kernel_figures import arithmetic_figure
from explorers.convolution import playground


@pytest.mark.parametrize("name", list(conv.PRESETS))
def test_a_preset_sets_the_display_its_output_reads_best_in(name):
    """Box and Gaussian blurs (and the identities) have no negative weight: their output is a picture in [0, 1],
    shown min-max, not washed out around the signed display's white 0; the others keep the signed display."""
    _, _, display = playground.image_preset_ui(name)
    assert display == ("signed" if (conv.preset(name) < 0).any() else "minmax")
    assert playground.image_preset_ui("box blur 3x3")[2] == "minmax"
    assert playground.image_preset_ui("Sobel x 3x3")[2] == "signed"


def test_the_number_boxes_say_the_ranges_the_convolution_checks():
    """One range each: a box takes what core.convolution.conv accepts (the step-through's stride from 1, as the
    check says), so no box offers a value the check then refuses."""
    for box in (playground.STRIDE, playground.ARITH_STRIDE):
        assert (box.lo, box.hi) == (1, conv.MAX_STRIDE)
    for box in (playground.DILATION, playground.ARITH_DILATION):
        assert (box.lo, box.hi) == (1, conv.MAX_DILATION)
    assert (playground.PADDING.lo, playground.PADDING.hi) == (0, conv.MAX_PADDING)
    assert playground.ARITH_PADDING.hi <= conv.MAX_PADDING
    patch = np.arange(49.0).reshape(7, 7)
    for stride in (playground.ARITH_STRIDE.lo, playground.ARITH_STRIDE.hi):
        conv.conv_arithmetic(patch, conv.preset("identity 3x3"), stride=stride)  # both ends are accepted
    with pytest.raises(ValueError, match=f"between 1 and {conv.MAX_STRIDE}"):
        conv.conv_arithmetic(patch, conv.preset("identity 3x3"), stride=0)


def test_the_step_through_titles_are_two_short_lines():
    """The panels' titles ran into each other ("kernel 3x3products at (1, 1)") over a 3x3 panel about 100 px
    wide: each is now what it is, then its size, on two lines of at most 12 characters."""
    a = conv.conv_arithmetic(np.arange(49.0).reshape(7, 7), conv.preset("Laplacian 3x3"), 1, 1, "zeros", 1, 1, 1)
    titles = [annotation.text for annotation in arithmetic_figure(a).layout.annotations]
    assert titles == ["padded input<br>9x9", "kernel<br>3x3", "products<br>at (1, 1)", "output<br>7x7"]
    assert all(len(line) <= 12 for title in titles for line in title.split("<br>"))
