from django.contrib import admin

from anshin.alerts.models import Category


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["slug", "name_ja", "name_en", "sort_order", "active"]
