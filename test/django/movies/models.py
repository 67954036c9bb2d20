"""The original project's models, as its admin has them (fields, db_table, DO_NOTHING links)."""
import datetime
import uuid

from django.db import models
from model_utils.models import TimeStampedModel


class Genre(TimeStampedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    genre = models.CharField(max_length=255, unique=True)
    description = models.TextField(blank=True, default='')

    class Meta:
        db_table = 'genre'


class Person(TimeStampedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.TextField()

    class Meta:
        db_table = 'person'


class FilmWork(TimeStampedModel):
    class Type(models.TextChoices):
        MOVIE = 'movie'
        TV_SHOW = 'tv_show'
        SERIES = 'series'

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True, default='')
    creation_date = models.DateField(null=True, blank=True)
    film_rating = models.CharField(max_length=32, blank=True, default='')
    imdb_rating = models.FloatField(null=True, blank=True)
    film_type = models.CharField(max_length=32, choices=Type.choices)
    indexed_at = models.DateTimeField(default=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc))

    class Meta:
        db_table = 'film_work'


class FilmWorkGenre(TimeStampedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    film_work = models.ForeignKey(FilmWork, on_delete=models.DO_NOTHING)
    genre = models.ForeignKey(Genre, on_delete=models.DO_NOTHING)

    class Meta:
        db_table = 'film_work_genre'


class FilmWorkPerson(TimeStampedModel):
    class Job(models.TextChoices):
        ACTOR = 'actor'
        DIRECTOR = 'director'
        WRITER = 'writer'

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    film_work = models.ForeignKey(FilmWork, on_delete=models.DO_NOTHING)
    person = models.ForeignKey(Person, on_delete=models.DO_NOTHING)
    job = models.CharField(max_length=32, choices=Job.choices)

    class Meta:
        db_table = 'film_work_person'
