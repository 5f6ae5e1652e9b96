# ionsim: the ION API Gateway / M3 / ION events simulator.
#   docker build -t ionsim .
#   docker run --rm -p 8080:8080 ionsim
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    IONSIM_HOST=0.0.0.0 \
    IONSIM_PORT=8080

WORKDIR /src
COPY pyproject.toml README.md ./
COPY simulator ./simulator
COPY contracts ./contracts
COPY fixtures ./fixtures
RUN pip install . && rm -rf /src

RUN useradd --create-home --uid 10001 ionsim
USER ionsim
WORKDIR /home/ionsim

EXPOSE 8080
# Honours the configured port: IONSIM_PORT is read by both the server and the check.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/_sim/health' % os.environ.get('IONSIM_PORT', '8080'), timeout=2)" || exit 1

ENTRYPOINT ["ionsim"]
CMD ["serve", "--host", "0.0.0.0"]
