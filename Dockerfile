# Glassbox's image: the app installed as the README's "Run it" says, served on 0.0.0.0:7860 by a user without
# privileges. Valid for a Hugging Face Space with the Docker SDK (`sdk: docker`, `app_port: 7860`) and any container
# host. tests/deploy/test_image.py runs this file's install steps and its CMD in a clean venv, read from this file,
# so the image and the tested install cannot drift.
FROM python:3.11-slim-bookworm

# Debian's Fashion-MNIST: the full data set, which the models train and are measured on (docs/ARCHITECTURE.md,
# "Data", source 1); .ci/run installs the same package. Without recommends, and without apt's lists afterwards,
# which the image never uses again.
RUN apt-get update \
    && apt-get install -y --no-install-recommends dataset-fashion-mnist \
    && rm -rf /var/lib/apt/lists/*

# Hugging Face's Docker Spaces run the container as uid 1000; any other host gets the same user without
# privileges. The app's folder is the user's: gradio writes beside the app (.gradio/) when it needs to.
RUN useradd --create-home --uid 1000 user \
    && install -d --owner=user --group=user /home/user/app
WORKDIR /home/user/app

# The dependencies before the code, so that a change of the code reuses this layer. PyTorch's CPU-only wheels first
# (the README's way: PyPI's Linux wheels bring 4 GB of CUDA libraries and triton, which only an NVIDIA GPU uses),
# limited to the versions requirements.txt admits; the next line then keeps them. An empty TORCH_INDEX
# (`docker build --build-arg TORCH_INDEX= .`) installs PyPI's default wheels instead, with CUDA, for a GPU host.
COPY requirements.txt .
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN pip install --no-cache-dir torch torchvision -c requirements.txt ${TORCH_INDEX:+--index-url "$TORCH_INDEX"}
RUN pip install --no-cache-dir -r requirements.txt

COPY --chown=user . .
USER user
# HOME for what the app and its libraries cache (the Hugging Face hub, ~/.cache/glassbox); a container is reached
# from outside it, so the app listens on every interface, on the port a Docker Space expects.
ENV HOME=/home/user \
    GLASSBOX_HOST=0.0.0.0 \
    GLASSBOX_PORT=7860
EXPOSE 7860

# Ready when the app answers its health route (app.py's /healthz); python's own http.client, as the slim image
# has no curl, and no proxy from the environment between it and the app. The first start imports torch and
# gradio and builds every tab: a minute or more on a small machine.
HEALTHCHECK --interval=30s --timeout=10s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import http.client, os; c = http.client.HTTPConnection('127.0.0.1', int(os.environ['GLASSBOX_PORT']), timeout=8); c.request('GET', '/healthz'); raise SystemExit(c.getresponse().status != 200)"]

CMD ["python", "app.py"]
