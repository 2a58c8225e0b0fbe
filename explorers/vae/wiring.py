"""The VAE tab's events: what a new endpoint or path setting recomputes (in two steps), the map's decoded point,
the samples, the KL calculator, and filling every view the first time the tab is opened."""
import gradio as gr

from core.vae import latent as L
from explorers.common import combined, outputs, user_errors
from explorers.inputs import PRIVATE
from explorers.vae.dimensions import SEED, TAU, DimensionViews, dimension_views, kl_table, sample_views
from explorers.vae.endpoints import image_input
from explorers.vae.interpolation import (
    STEPS,
    CompareViews,
    EndpointViews,
    PathViews,
    compare_views,
    endpoint_views,
    path_views,
)
from explorers.vae.latent_map import Z1, Z2, MapViews, decode_views, from_pixel, map_views
from explorers.vae.layout import Components

# A new endpoint shows FirstViews in one event and LaterViews in the next: the strip comes without waiting for
# the five other figures and the map's 2,000 points.
FirstViews = combined("FirstViews", EndpointViews, PathViews)
LaterViews = combined("LaterViews", CompareViews, MapViews, DimensionViews)
AllViews = combined("AllViews", FirstViews, LaterViews)


def first_views(x_a, x_b, steps_box, path: str, model: str, map_model: str) -> FirstViews:
    """What a new endpoint or path setting shows first: the endpoints' codes and the decoded path."""
    return FirstViews(*endpoint_views(x_a, x_b, model), *path_views(x_a, x_b, steps_box, path, model))


def later_views(x_a, x_b, steps_box, path: str, model: str, map_model: str) -> LaterViews:
    """The rest, in an event chained after first_views: AE vs VAE, the map, the dimensions. The steps box already
    shows the value first_views used, so reading it again warns no second time."""
    steps = STEPS.read(steps_box).value
    return LaterViews(*compare_views(x_a, x_b, steps, path), *map_views(x_a, x_b, steps, path, map_model),
                      *dimension_views(x_a))


def all_views(x_a, x_b, steps_box, path: str, model: str, map_model: str) -> AllViews:
    return AllViews(*first_views(x_a, x_b, steps_box, path, model, map_model),
                    *later_views(x_a, x_b, steps_box, path, model, map_model))


def read(image_a, image_b):
    return image_input(image_a), image_input(image_b)


def wire(c: Components, tab: gr.Tab) -> None:
    """Connect every event of the tab, in the order the page registers them."""
    wire_path(c)
    wire_map(c)
    gr.on([c.resample.click, c.sample_model.input, c.tau.release, c.seed.submit], user_errors(sample_views),
          [c.sample_model, c.tau, c.seed], sample_outputs(c), trigger_mode="always_last", **PRIVATE)
    c.kl_go.click(user_errors(kl_table), [c.kl_mu, c.kl_logvar], c.kl_out, **PRIVATE)
    wire_first_open(c, tab)


def controls(c: Components) -> list:
    return [c.steps, c.path, c.model, c.map_model]


def sample_outputs(c: Components) -> list:
    return [c.samples, c.sample_note, c.tau, c.seed]


def wire_path(c: Components) -> None:
    """A new endpoint, steps, path or model: the endpoints and the path first, then the rest."""
    ui = vars(c)
    column_a, column_b = c.column_a, c.column_b

    @user_errors
    def first_ui(image_a, image_b, *values):
        return first_views(*read(image_a, image_b), *values)

    @user_errors
    def later_ui(image_a, image_b, *values):
        return later_views(*read(image_a, image_b), *values)

    both = [column_a.image, column_b.image, *controls(c)]
    first_out = outputs(FirstViews, ui)
    events = [*column_a.on_new_image(lambda img, b, *values: first_views(image_input(img), image_input(b), *values),
                                     [column_b.image, *controls(c)], first_out),
              *column_b.on_new_image(lambda img, a, *values: first_views(image_input(a), image_input(img), *values),
                                     [column_a.image, *controls(c)], first_out),
              gr.on([c.steps.release, c.path.input, c.model.input], first_ui, both, first_out,
                    trigger_mode="always_last", **PRIVATE)]
    for event in events:
        event.then(later_ui, both, outputs(LaterViews, ui), **PRIVATE)


def wire_map(c: Components) -> None:
    """Moving z1 or z2, choosing the map's model, or clicking the decoded grid decodes that point and marks it."""

    @user_errors
    def decode_ui(image_a, image_b, steps_box, path_kind, map_name, z1_box, z2_box):
        image, note, z1_shown, z2_shown, z = decode_views(map_name, z1_box, z2_box)
        views = map_views(*read(image_a, image_b), STEPS.read(steps_box).value, path_kind, map_name, z)
        return image, note, z1_shown, z2_shown, *views

    @user_errors
    def click_ui(evt: gr.SelectData, image_a, image_b, steps_box, path_kind, map_name):
        z1_value, z2_value = (float(v) for v in from_pixel(map_name, evt.index[0], evt.index[1], L.GRID * 28))
        views = decode_ui(image_a, image_b, steps_box, path_kind, map_name, z1_value, z2_value)
        return *views[:2], z1_value, z2_value, *views[4:]  # the boxes show the clicked point

    point_outputs = [c.point, c.point_note, c.z1, c.z2, *outputs(MapViews, vars(c))]
    map_inputs = [c.column_a.image, c.column_b.image, c.steps, c.path, c.map_model]
    # A new map model decodes the same point again, so the point's picture and note never name the other model.
    gr.on([c.z1.release, c.z2.release, c.map_model.input], decode_ui, [*map_inputs, c.z1, c.z2], point_outputs,
          trigger_mode="always_last", **PRIVATE)
    c.manifold.select(click_ui, map_inputs, point_outputs, **PRIVATE)


def wire_first_open(c: Components, tab: gr.Tab) -> None:
    """Opening the tab the first time fills every view (later openings keep what the visitor has), so the app's
    start does not wait for the test set's codes and the decoded grids."""
    filled = gr.State(False)
    everything = outputs(AllViews, vars(c))

    @user_errors
    def first_open(done, image_a, image_b, *values):
        if done:
            return True, *[gr.skip()] * (len(everything) + len(sample_outputs(c)) + 2)
        views = all_views(*read(image_a, image_b), *values)
        image, note, *_ = decode_views(values[-1], Z1.default, Z2.default)  # the decoded point starts at z = 0
        return True, *views, *sample_views("vae16", TAU.default, SEED.default), image, note

    tab.select(first_open, [filled, c.column_a.image, c.column_b.image, *controls(c)],
               [filled, *everything, *sample_outputs(c), c.point, c.point_note], **PRIVATE)
