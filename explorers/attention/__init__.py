"""The Attention tab: what each token or patch attends to in a real transformer, and the Q·Kᵀ softmax behind it.

Three section tabs, one module each, each opening on its path (explorers.path) and its main picture: text
transformers (text), a GPT predicting the next token (language), vision transformers (image); below them the
Explain panel, and the gr.api endpoints attention_text, attention_scores and attention_image (endpoints), which
return the numbers the sections' pictures are drawn from, and lm_next, lm_generate, lm_logit_lens and lm_heads, a
causal language model's (language_api). heads names heads for every section; core.attention does the work.
"""
import gradio as gr

from explorers.attention import endpoints, image, language, language_api, text
from explorers.common import LATEX, explain


def build(demo: gr.Blocks, tab: gr.Tab) -> None:
    """The Attention tab's section tabs and its API endpoints; `demo.load` fills the text section once the page is
    up."""
    with gr.Tabs(selected="attn-section-text", elem_id="attn-sections"):
        with gr.Tab("Text", id="attn-section-text"):
            text.build(demo)
        with gr.Tab("GPT: next token", id="attn-section-gpt"):
            language.build()
        with gr.Tab("Images (ViT)", id="attn-section-image"):
            image.build()
    with gr.Accordion("Explain: Q, K, V and softmax, heads and W^O, √d_k, rollout, and why attention is not an "
                      "explanation", open=False, elem_id="attn-explain"):
        gr.Markdown(explain("attention"), latex_delimiters=LATEX, elem_id="attn-explain-text")
    endpoints.register()
    language_api.register()
