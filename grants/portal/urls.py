"""The portal's URLs at ``/``: an optionee's grants, exercises and notices, and signing in."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from grants.portal import views

auth = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="portal/registration/login.html"),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signed-out/", views.signed_out, name="signed_out"),
    path(
        "accounts/password/change/",
        auth_views.PasswordChangeView.as_view(
            template_name="portal/registration/password_change_form.html",
            success_url=reverse_lazy("password_change_done"),
        ),
        name="password_change",
    ),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(
            template_name="portal/registration/password_change_done.html"
        ),
        name="password_change_done",
    ),
    path(
        "accounts/password/reset/",
        auth_views.PasswordResetView.as_view(
            template_name="portal/registration/password_reset_form.html",
            email_template_name="portal/registration/password_reset_email.txt",
            subject_template_name="portal/registration/password_reset_subject.txt",
            success_url=reverse_lazy("password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="portal/registration/password_reset_done.html"
        ),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="portal/registration/password_reset_confirm.html",
            success_url=reverse_lazy("password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="portal/registration/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
]

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("grants/<str:number>/", views.grant_detail, name="grant_detail"),
    path("grants/<str:number>/agreement/", views.agreement, name="agreement"),
    path("grants/<str:number>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("grants/<str:number>/exercise/", views.exercise, name="exercise"),
    path("exercises/", views.exercise_list, name="exercise_list"),
    path("exercises/<int:pk>/", views.exercise_detail, name="exercise_detail"),
    path("notices/", views.notice_list, name="notice_list"),
    path("notices/<int:pk>/", views.notice_detail, name="notice_detail"),
    path("notices/address/", views.change_address, name="change_address"),
    *auth,
]
