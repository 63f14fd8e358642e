from fastapi import APIRouter

router = APIRouter()


@router.get("/")
def root() -> dict:
    return {"framework": "fastapi", "message": "hello from inventory"}
