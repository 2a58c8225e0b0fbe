"""One module per tab. Each has build() for its UI, plus its handlers and gr.api endpoints."""
