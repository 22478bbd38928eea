"""Factories for coupons: valid from yesterday to tomorrow unless told otherwise."""

from datetime import timedelta

import factory
from django.utils import timezone

from apps.coupons.models import Coupon


class CouponFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coupon

    code = factory.Sequence(lambda n: f"SAVE{n:03}")
    valid_from = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    valid_to = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    discount = 10
    active = True
