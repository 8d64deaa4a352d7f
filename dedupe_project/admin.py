"""The admin site's account pages with roles: a role column and filter, a role field on the
account form, and actions to give the selected accounts a role."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from dedupe_project.access import (
    ADMIN,
    ROLE_DESCRIPTIONS,
    ROLE_ORDER,
    VIEWER,
    assign_role,
    is_last_admin,
    role_of,
)

User = get_user_model()
ROLE_CHOICES = [(role, ROLE_DESCRIPTIONS[role]) for role in ROLE_ORDER]


class RoleFormMixin(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial=VIEWER)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = getattr(self, "instance", None)
        if instance is not None and instance.pk:
            self.fields["role"].initial = role_of(instance) or VIEWER

    def clean_role(self) -> str:
        role = self.cleaned_data["role"]
        instance = getattr(self, "instance", None)
        if instance is not None and instance.pk and role != ADMIN and is_last_admin(instance):
            raise forms.ValidationError("This is the last admin: make another account admin first.")
        return role


class RoleChangeForm(RoleFormMixin, UserChangeForm):
    pass


class RoleCreationForm(RoleFormMixin, AdminUserCreationForm):
    pass


class RoleUserAdmin(UserAdmin):
    form = RoleChangeForm
    add_form = RoleCreationForm
    list_display = ("username", "email", "role", "is_active", "last_login")
    list_filter = ("groups", "is_active")
    actions = ["make_viewer", "make_reviewer", "make_admin"]
    fieldsets = (
        (None, {"fields": ("username", "password", "role")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Status", {"fields": ("is_active", "last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "usable_password", "password1", "password2", "role"),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined")

    @admin.display(description="role")
    def role(self, user: Any) -> str:
        return role_of(user) or "no role"

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        assign_role(obj, form.cleaned_data["role"])

    def _set_role(self, request: Any, queryset: Any, role: str) -> None:
        changed = 0
        for user in queryset:
            if role != ADMIN and is_last_admin(user):
                messages.error(request, f"{user} is the last admin and keeps that role.")
                continue
            assign_role(user, role)
            changed += 1
        messages.success(request, f"{changed} account(s) are now {role}.")

    @admin.action(description="Give the selected accounts the viewer role (read only)")
    def make_viewer(self, request: Any, queryset: Any) -> None:
        self._set_role(request, queryset, "viewer")

    @admin.action(description="Give the selected accounts the reviewer role")
    def make_reviewer(self, request: Any, queryset: Any) -> None:
        self._set_role(request, queryset, "reviewer")

    @admin.action(description="Give the selected accounts the admin role")
    def make_admin(self, request: Any, queryset: Any) -> None:
        self._set_role(request, queryset, ADMIN)


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, RoleUserAdmin)
