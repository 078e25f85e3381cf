from django.urls import path

from anshin.alerts import feeds, views

app_name = "alerts"
urlpatterns = [
    path("alerts/", views.archive, name="archive"),
    path("alerts/category/<slug:slug>/", views.archive, name="category"),
    path("alerts/<int:pk>/", views.detail, name="detail"),
    path("alerts/<int:pk>/cap.xml", views.cap_xml, name="cap"),
    path("feeds/alerts.atom", feeds.AlertAtomFeed(), name="atom"),
    path("feeds/alerts.rss", feeds.AlertRssFeed(), name="rss"),
    path("feeds/<slug:slug>/alerts.atom", feeds.AlertAtomFeed(), name="category_atom"),
    path("feeds/<slug:slug>/alerts.rss", feeds.AlertRssFeed(), name="category_rss"),
    path("feeds/cap.atom", feeds.CapIndexFeed(), name="cap_index"),
]
