from django.urls import path

from bastion.keys import views
from bastion.keys.services import OFFER_PATH

app_name = "keys"

urlpatterns = [
    path(OFFER_PATH.lstrip("/"), views.offer, name="offer"),
]
