from guestbook import build

app = build()
