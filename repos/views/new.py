"""/new: a person creates a repository under their own name."""
from django import forms
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts.views.common import person_required
from repos.services import create_repository, validate_branch_name, validate_repository_name


class NewRepositoryForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=500, required=False)
    visibility = forms.ChoiceField(choices=[("public", "Public"), ("private", "Private")], initial="public")
    default_branch = forms.CharField(max_length=255, initial="main")

    def clean_name(self):
        return _validated(validate_repository_name, self.cleaned_data["name"].strip())

    def clean_default_branch(self):
        return _validated(validate_branch_name, self.cleaned_data["default_branch"].strip())


def _validated(validate, value):
    try:
        validate(value)
    except ValueError as error:
        raise forms.ValidationError(str(error)) from None
    return value


@require_http_methods(["GET", "HEAD", "POST"])
@person_required
def new_repository(request):
    form = NewRepositoryForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            repo = create_repository(request.account, data["name"], description=data["description"].strip(),
                                     private=data["visibility"] == "private",
                                     default_branch=data["default_branch"])
        except ValueError as error:  # the name is taken (in any letter case)
            form.add_error("name", str(error))
        else:
            return HttpResponseRedirect(repo.get_absolute_url())
    return render(request, "repos/new.html", {"form": form, "owner": request.account},
                  status=400 if form.is_bound else 200)
