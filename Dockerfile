# One image for every process of docker-compose.yml: web, worker, beat (and later consumer, emulator).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY . .
RUN STATIC_ROOT=/app/staticfiles python manage.py collectstatic --no-input \
    && useradd --system --uid 1000 --home /app portal \
    && mkdir -p /data && chown portal /data

USER portal
EXPOSE 8000
CMD ["gunicorn", "tfoms_portal.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--worker-class", "gthread", "--threads", "4", "--access-logfile", "-"]
