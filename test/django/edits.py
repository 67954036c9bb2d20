#!/usr/bin/env python3
"""Edits made the way the original project's users make them: through Django's ORM and through
the admin's change views (Django's test Client, logged in). `edits.py <name>` makes one edit and
prints what it touched as JSON."""
import json
import os
import sys

os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'cinema.settings')
import django  # noqa: E402

django.setup()
from django.contrib.auth.models import User  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import Client  # noqa: E402

from movies.models import FilmWork, FilmWorkGenre, FilmWorkPerson, Genre, Person  # noqa: E402


def admin():
    if not User.objects.filter(username='editor').exists():
        User.objects.create_superuser('editor', 'editor@example.org', 'secret')
    c = Client()
    assert c.login(username='editor', password='secret')
    return c


def post(path, data):
    r = admin().post(path, data)
    # The admin answers a saved change with a redirect to its list; a form error is a 200 page.
    if r.status_code != 302:
        raise SystemExit(f'admin POST {path}: HTTP {r.status_code}')


def genre_renamed_in_admin():
    g = Genre.objects.order_by('genre').first()
    post(f'/admin/movies/genre/{g.id}/change/', {'genre': g.genre + ' (renamed)', 'description': g.description})
    return {'genre': str(g.id)}


def person_renamed_in_admin():
    p = Person.objects.filter(filmworkperson__isnull=False).order_by('name').first()
    post(f'/admin/movies/person/{p.id}/change/', {'name': p.name + ' Jr.'})
    return {'person': str(p.id)}


def film_retitled():
    f = FilmWork.objects.order_by('title').first()
    f.title = f.title + ' (director\'s cut)'
    f.save()
    return {'film': str(f.id)}


def person_added():
    f = FilmWork.objects.order_by('id').first()
    p = Person.objects.exclude(filmworkperson__film_work=f).order_by('id').first()
    FilmWorkPerson.objects.create(film_work=f, person=p, job='writer')
    return {'film': str(f.id), 'person': str(p.id)}


def person_removed():
    link = FilmWorkPerson.objects.filter(job='writer').order_by('id').first()
    link.delete()
    return {'film': str(link.film_work_id), 'person': str(link.person_id)}


def film_created():
    with transaction.atomic():
        f = FilmWork.objects.create(title='A film made in the admin\'s ORM', film_type='movie', imdb_rating=6.4)
        FilmWorkGenre.objects.create(film_work=f, genre=Genre.objects.order_by('genre').last())
        p = Person.objects.create(name='A new director')
        FilmWorkPerson.objects.create(film_work=f, person=p, job='director')
    return {'film': str(f.id), 'person': str(p.id)}


def film_deleted():
    # DO_NOTHING links: the links go first, as an admin deleting a film with its inlines does.
    f = FilmWork.objects.filter(filmworkperson__isnull=False).order_by('-id').first()
    film = str(f.id)  # delete() sets the instance's pk to None
    with transaction.atomic():
        FilmWorkPerson.objects.filter(film_work=f).delete()
        FilmWorkGenre.objects.filter(film_work=f).delete()
        f.delete()
    return {'film': film}


EDITS = {
    'genre-renamed-in-admin': genre_renamed_in_admin,
    'film-retitled': film_retitled,
    'person-added': person_added,
    'person-removed': person_removed,
    'film-created': film_created,
    'film-deleted': film_deleted,
    'person-renamed-in-admin': person_renamed_in_admin,
}

if __name__ == '__main__':
    print(json.dumps(EDITS[sys.argv[1]]()))
