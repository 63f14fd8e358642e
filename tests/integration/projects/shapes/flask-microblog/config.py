import os


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY") or "you-will-never-guess"
    BLOG_TITLE = os.environ.get("BLOG_TITLE", "microblog")
