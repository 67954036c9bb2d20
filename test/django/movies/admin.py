from django.contrib import admin

from .models import FilmWork, FilmWorkGenre, FilmWorkPerson, Genre, Person


class GenreInline(admin.TabularInline):
    model = FilmWorkGenre
    extra = 0


class PersonInline(admin.TabularInline):
    model = FilmWorkPerson
    extra = 0


@admin.register(FilmWork)
class FilmWorkAdmin(admin.ModelAdmin):
    inlines = (GenreInline, PersonInline)
    list_display = ('title', 'film_type', 'imdb_rating')


@admin.register(Genre)
class GenreAdmin(admin.ModelAdmin):
    list_display = ('genre',)


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ('name',)
