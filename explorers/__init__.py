"""The tabs: each module lays out one tab (or one section of it) with build(), and holds its handlers and gr.api
endpoints. Explorers never import each other; what they share is in common.py and inputs.py."""
