"""Reading accounts."""
from django.contrib.auth import get_user_model
from django.db.models.functions import Lower


def get_user(name: str):
    """The user called `name`, case-insensitively; None if there is none."""
    User = get_user_model()
    return User.objects.alias(lower_username=Lower("username")).filter(lower_username=name.lower()).first()


def actor_user(actor):
    """The user an actor is or acts for (an agent's owner); None for anonymous or a vanished account."""
    if actor.user_id is None:
        return None
    return get_user_model().objects.filter(pk=actor.user_id, is_active=True).first()
