"""The account forms. Validation rules live in accounts.services; these only collect input."""
from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.models import User

from accounts.scopes import ALL_SCOPES, DEFAULT_TOKEN_SCOPES
from accounts.selectors import get_user
from accounts.services import validate_username

SCOPE_HELP = {
    "repo:read": "clone, fetch and read repositories you can see",
    "repo:write": "push, and change files through the API (implies repo:read)",
    "issues:write": "open and comment on issues and pull requests",
    "pulls:merge": "merge pull requests",
    "admin": "change repository settings (implies repo:read)",
}
EXPIRY_CHOICES = [("7", "7 days"), ("30", "30 days"), ("90", "90 days"), ("365", "a year"), ("never", "never")]


class SignupForm(forms.Form):
    username = forms.CharField(max_length=39)
    email = forms.EmailField(required=False)
    password = forms.CharField(widget=forms.PasswordInput, strip=False)
    password_again = forms.CharField(widget=forms.PasswordInput, strip=False)

    def clean_username(self):
        name = self.cleaned_data["username"].strip()
        try:
            validate_username(name)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None
        if get_user(name) is not None:
            raise forms.ValidationError(f"The name {name!r} is taken.")
        return name

    def clean(self):
        data = super().clean()
        password, again = data.get("password"), data.get("password_again")
        if password and again and password != again:
            self.add_error("password_again", "The two passwords differ.")
        elif password:
            candidate = User(username=data.get("username", ""), email=data.get("email", ""))
            try:
                password_validation.validate_password(password, candidate)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return data


class LoginForm(forms.Form):
    username = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, strip=False)


class EmailForm(forms.Form):
    email = forms.EmailField(required=False)


class TokenForm(forms.Form):
    label = forms.CharField(max_length=100)
    scopes = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in ALL_SCOPES], initial=list(DEFAULT_TOKEN_SCOPES),
        error_messages={"required": "Choose at least one scope."},
    )
    expires = forms.ChoiceField(choices=EXPIRY_CHOICES, initial="30")

    def expires_days(self) -> int | None:
        value = self.cleaned_data["expires"]
        return None if value == "never" else int(value)
