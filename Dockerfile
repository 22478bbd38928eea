# The shop's one image for the docker stack (docker-compose.yml): gunicorn serves the web, and the
# same image runs `celery -A shop_project worker` and `celery -A shop_project beat`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    DJANGO_SETTINGS_MODULE=shop_project.settings.production

WORKDIR /app

# The processes run as this user. The code and the collected static files stay root's, so a
# compromised process cannot change them; the user may write the media folder only.
RUN groupadd --system --gid 10001 shop \
 && useradd --system --uid 10001 --gid shop --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin shop

# Requirements before the code, so that a code change reuses the installed packages. Every
# package ships a manylinux wheel (psycopg-binary, Pillow, pycurl): no compiler needed.
COPY requirements.txt requirements-container.txt ./
RUN pip install -r requirements-container.txt

COPY . .

# WhiteNoise serves what collectstatic writes (hashed names, compressed) from the image, and the
# message catalogs are compiled from the .po files (pure Python; the .mo files are never in the
# repository). The production settings insist on these variables at import; the values are
# placeholders for these two commands, which open no database and no broker; the image's
# environment keeps none.
RUN DJANGO_SECRET_KEY=build-time-placeholder-not-a-secret-only-for-collectstatic \
    DJANGO_ALLOWED_HOSTS=localhost \
    DJANGO_STORAGE=local \
    DATABASE_URL=sqlite:////tmp/collectstatic-opens-no-database.sqlite3 \
    CELERY_BROKER_URL=memory:// \
    STRIPE_SECRET_KEY=sk_build-time-placeholder \
    STRIPE_PUBLISHABLE_KEY=pk_build-time-placeholder \
    STRIPE_WEBHOOK_SECRET=whsec_build-time-placeholder \
    sh -c 'python manage.py compile_catalogs && python manage.py collectstatic --no-input'

# A named volume mounted here starts with this folder's owner, so the user can write the images.
RUN mkdir -p /app/media && chown shop:shop /app/media

USER shop
EXPOSE 8000
# docker-compose.yml names each service's command; this default is the web.
CMD ["gunicorn", "shop_project.wsgi:application", "--bind", "0.0.0.0:8000", "--no-control-socket"]
