"""The seed's orders scenario: see README.md beside this file."""
