"""The committed migrations build the schema the models describe, on both databases."""

from tortoise.models import Model

import models


async def test_every_model_has_a_table_after_migrating(db: str) -> None:
    # Given the session database built only from the committed migrations
    # When each model is queried
    # Then none is missing its table
    for model in models.__models__:
        assert issubclass(model, Model)
        assert await model.all().count() == 0
