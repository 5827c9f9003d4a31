"""Forms of the account pages."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from .services import MAX_LABEL_LENGTH


class SignUpForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username",)


class ApiKeyForm(forms.Form):
    label = forms.CharField(
        max_length=MAX_LABEL_LENGTH,
        required=False,
        help_text="A name to recognise the key by, e.g. 'trading bot'.",
    )
