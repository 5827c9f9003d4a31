"""Routes of the public market-data API (shared/API.md). No trailing slashes, ever."""

from django.urls import path

from markets.api import views

urlpatterns = [
    path("api/v1/assets", views.AssetsView.as_view(), name="api-assets"),
    path("api/v1/markets", views.MarketsView.as_view(), name="api-markets"),
    path("api/v1/market", views.MarketView.as_view(), name="api-market"),
    path("api/v1/securities", views.SecuritiesView.as_view(), name="api-securities"),
    path("api/v1/ticker", views.TickerView.as_view(), name="api-ticker"),
    path("api/v1/tickers", views.TickersView.as_view(), name="api-tickers"),
    path("api/v1/depth", views.DepthView.as_view(), name="api-depth"),
    path("api/v1/klines", views.KlinesView.as_view(), name="api-klines"),
    path("api/v1/trades", views.TradesView.as_view(), name="api-trades"),
    path("api/v1/trades/history", views.TradeHistoryView.as_view(), name="api-trades-history"),
    # Futures, lending and blockchains: none here, each answered with an empty list.
    path("api/v1/markPrices", views.MarkPricesView.as_view(), name="api-mark-prices"),
    path("api/v1/openInterest", views.OpenInterestView.as_view(), name="api-open-interest"),
    path("api/v1/fundingRates", views.FundingRatesView.as_view(), name="api-funding-rates"),
    path("api/v1/collateral", views.CollateralParametersView.as_view(), name="api-collateral-parameters"),
    path("api/v1/borrowLend/markets", views.LendingMarketsView.as_view(), name="api-lending-markets"),
    path(
        "api/v1/borrowLend/markets/history",
        views.LendingMarketHistoryView.as_view(),
        name="api-lending-market-history",
    ),
    path("api/v1/wallets", views.WalletsView.as_view(), name="api-wallets"),
]
