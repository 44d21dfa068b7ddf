from django.contrib.auth import views as auth_views
from django.urls import path

from grants import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("grants/<str:number>/", views.grant_detail, name="grant_detail"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
