"""The fleet: sub-bots run as one book, with capital allocated among them by what they have earned."""
