"""Settings from the environment: DJANGO_DATABASE (name), DJANGO_SEARCH_PATH (the connection's
search_path, e.g. "content"; unset keeps Django's default, public)."""
import os

SECRET_KEY = 'movies-tests-only'
DEBUG = False
ALLOWED_HOSTS = ['testserver', 'localhost']
USE_TZ = True
TIME_ZONE = 'UTC'
ROOT_URLCONF = 'cinema.urls'
DEFAULT_AUTO_FIELD = 'django.db.models.BigAutoField'
INSTALLED_APPS = [
    'django.contrib.admin', 'django.contrib.auth', 'django.contrib.contenttypes',
    'django.contrib.sessions', 'django.contrib.messages', 'movies',
]
MIDDLEWARE = [
    'django.contrib.sessions.middleware.SessionMiddleware',
    'django.middleware.common.CommonMiddleware',
    'django.middleware.csrf.CsrfViewMiddleware',
    'django.contrib.auth.middleware.AuthenticationMiddleware',
    'django.contrib.messages.middleware.MessageMiddleware',
]
TEMPLATES = [{
    'BACKEND': 'django.template.backends.django.DjangoTemplates', 'APP_DIRS': True,
    'OPTIONS': {'context_processors': [
        'django.template.context_processors.request', 'django.contrib.auth.context_processors.auth',
        'django.contrib.messages.context_processors.messages',
    ]},
}]
_search_path = os.environ.get('DJANGO_SEARCH_PATH')
DATABASES = {'default': {
    'ENGINE': 'django.db.backends.postgresql',
    'NAME': os.environ['DJANGO_DATABASE'],
    'USER': os.environ.get('DJANGO_DB_USER', 'postgres'),
    'HOST': os.environ.get('DJANGO_DB_HOST', '127.0.0.1'),
    'PORT': os.environ.get('DJANGO_DB_PORT', '5432'),
    'OPTIONS': {'options': f'-c search_path={_search_path}'} if _search_path else {},
}}
