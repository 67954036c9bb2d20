#!/usr/bin/env python3
"""The Django project of movies' tests: the original's models, run by Django's own manage.py."""
import os
import sys

if __name__ == '__main__':
    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'cinema.settings')
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
