"""The Scrapy side of the crawl benchmark: from the first listing page, follow every
product link and the next-page link, and extract from each product page the fields the
trawl job's css-extractor schema extracts. Settings (concurrency, robots.txt, the JSON
lines feed) come from run.py on the command line.

    scrapy runspider books_spider.py -a start_url=http://127.0.0.1:8099/catalogue/page-1.html -a stats=stats.json
"""

import json
import re
import resource
import time

import scrapy

RATINGS = {"One": 1, "Two": 2, "Three": 3, "Four": 4, "Five": 5}
STOCK = re.compile(r"\((\d+) available\)")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


class BooksSpider(scrapy.Spider):
    name = "books"

    def __init__(self, start_url, stats, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.start_urls = [start_url]
        self.stats_path = stats
        self.cpu_start = None
        self.wall_start = None
        self.pages = 0

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.on_opened, signal=scrapy.signals.spider_opened)
        return spider

    def on_opened(self, spider):
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self.cpu_start = usage.ru_utime + usage.ru_stime
        self.wall_start = time.monotonic()

    def parse(self, response):
        self.pages += 1
        for href in response.css("article.product_pod h3 a::attr(href)").getall():
            yield response.follow(href, self.parse_product)
        next_page = response.css("li.next a::attr(href)").get()
        if next_page:
            yield response.follow(next_page, self.parse)

    def parse_product(self, response):
        self.pages += 1
        page = response.css("article.product_page")
        item = {
            "title": " ".join(page.css("h1::text").get("").split()),
            "price": None,
            "stock": None,
            "rating": None,
            "upc": page.css("table tr:first-child td::text").get(),
        }
        price = NUMBER.search(page.css("p.price_color::text").get(""))
        if price:
            item["price"] = float(price.group())
        stock = STOCK.search(" ".join(page.css("p.availability ::text").getall()))
        if stock:
            item["stock"] = int(stock.group(1))
        rating = re.search(r"star-rating (\w+)", page.css("p.star-rating::attr(class)").get(""))
        if rating and rating.group(1) in RATINGS:
            item["rating"] = RATINGS[rating.group(1)]
        yield {k: v for k, v in item.items() if v is not None}

    def closed(self, reason):
        usage = resource.getrusage(resource.RUSAGE_SELF)
        stats = self.crawler.stats.get_stats()
        out = {
            "reason": reason,
            "pages": self.pages,
            "responses": stats.get("response_received_count", 0),
            "items": stats.get("item_scraped_count", 0),
            "seconds": time.monotonic() - self.wall_start,
            "cpu_seconds": usage.ru_utime + usage.ru_stime - (self.cpu_start or 0),
        }
        with open(self.stats_path, "w") as f:
            json.dump(out, f)
