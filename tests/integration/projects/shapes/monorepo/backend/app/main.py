from fastapi import FastAPI

from app.core.config import PROJECT_NAME

app = FastAPI(title=PROJECT_NAME)


@app.get("/")
def root():
    return {"framework": "fastapi", "message": f"hello from {PROJECT_NAME} backend"}
