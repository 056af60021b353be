package workload

// Word pools the line generators draw from. Real logs repeat a small vocabulary (paths,
// agents, messages) around values that vary (ids, sizes, durations, trace ids); the mix decides
// how well chunks compress, so the pools are kept about as varied as a real cluster's.

var httpMethods = []string{"GET", "GET", "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE", "PATCH"}

// apiPaths end in an id when they end in '/': the generator appends a number.
var apiPaths = []string{
	"/api/v1/products/", "/api/v1/products", "/api/v1/cart/", "/api/v1/cart/items", "/api/v1/orders/",
	"/api/v1/orders", "/api/v1/users/", "/api/v1/users/me", "/api/v1/search", "/api/v1/recommendations/",
	"/api/v2/checkout/sessions/", "/api/v2/payments/", "/api/v2/payments/intents", "/api/v1/inventory/",
	"/api/v1/reviews/", "/api/v1/categories", "/api/v1/flags", "/api/v1/notifications/", "/healthz",
	"/metrics", "/login", "/logout", "/oauth2/token", "/oauth2/authorize", "/static/js/app.",
	"/static/css/main.", "/images/products/", "/favicon.ico", "/robots.txt", "/sitemap.xml",
}

var referers = []string{
	"-", "-", "-", "https://shop.example.com/", "https://shop.example.com/catalog",
	"https://shop.example.com/cart", "https://www.google.com/", "https://shop.example.com/checkout",
	"https://docs.example.com/getting-started", "https://shop.example.com/account/orders",
}

var userAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
	"kube-probe/1.31",
	"Prometheus/2.55.1",
	"curl/8.5.0",
	"Go-http-client/1.1",
	"okhttp/4.12.0",
}

var upstreams = []string{
	"shop-storefront-80", "shop-catalog-8080", "shop-cart-8080", "checkout-checkout-api-8080",
	"payments-payments-api-8080", "identity-accounts-8080", "search-search-api-8080", "docs-docs-site-80",
}

var jsonLoggers = []string{"http.server", "http.server", "http.server", "db.pool", "cache.redis", "auth.jwt", "grpc.client", "kafka.producer"}

// jsonMessages are indexed by level: info, debug, warn, error.
var jsonMessages = [4][]string{
	{"request completed", "request completed", "request completed", "cache hit", "order created", "item added to cart", "session refreshed", "search served"},
	{"cache miss", "query planned", "token validated", "connection reused", "feature flag evaluated"},
	{"slow request", "retrying upstream call", "cache miss storm detected", "connection pool near capacity", "deprecated API version used"},
	{"request failed", "upstream timeout", "database deadlock detected", "payment declined by gateway", "context canceled"},
}

var levels = [4]string{"info", "debug", "warn", "error"}

var queues = []string{"emails", "orders", "invoices", "reindex", "thumbnails", "webhooks", "settlements", "logs"}

var jobs = []string{"send_receipt", "process_order", "render_invoice", "reindex_product", "resize_image", "deliver_webhook", "settle_batch", "route_logs", "sync_inventory", "expire_sessions"}

// logfmtMessages are indexed by level: info, debug, warn, error.
var logfmtMessages = [4][]string{
	{"job done", "job done", "job done", "job started", "batch flushed", "lease renewed"},
	{"polling queue", "lease acquired", "no work available"},
	{"job slow", "retry scheduled", "queue lag high"},
	{"job failed", "dead-lettered after max attempts", "lost lease"},
}

var goCallers = []string{"worker.go:142", "worker.go:88", "queue.go:231", "lease.go:57", "batch.go:119", "retry.go:44"}

var javaThreads = []string{"nio-8080-exec-1", "nio-8080-exec-2", "nio-8080-exec-7", "nio-8080-exec-9", "scheduling-1", "kafka-consumer-1", "task-3", "ForkJoinPool-1"}

// javaLoggers are padded to Spring Boot's 40-character logger column.
var javaLoggers = []string{
	"c.e.payments.ledger.LedgerService       ",
	"c.e.orders.web.OrderController          ",
	"c.e.orders.service.OrderService         ",
	"c.e.users.repository.UserRepository     ",
	"o.h.engine.jdbc.spi.SqlExceptionHelper  ",
	"c.e.billing.InvoiceScheduler            ",
	"o.s.web.servlet.DispatcherServlet       ",
	"c.e.recommender.ModelCache              ",
}

var javaInfoMessages = []string{
	"Posted entry %d to account %d",
	"Created order %d for customer %d",
	"Loaded user %d from cache region %d",
	"Invoice batch %d completed with %d invoices",
	"Refreshed model partition %d in %d ms",
	"Completed request %d for tenant %d",
}

var javaErrorMessages = []string{
	"Failed to process order %d for customer %d",
	"Unexpected error while posting entry %d on ledger %d",
	"Request %d failed after %d retries",
}

// exception is a Java exception with the frames its stack trace draws from.
type exception struct {
	class, message string
	frames         []string
}

var exceptions = []exception{
	{"java.lang.IllegalStateException", "Payment gateway timeout after 5000ms", []string{
		"com.example.payments.gateway.GatewayClient.charge(GatewayClient.java:142)",
		"com.example.payments.gateway.GatewayClient.lambda$chargeWithRetry$0(GatewayClient.java:98)",
		"io.github.resilience4j.retry.Retry.lambda$decorateCheckedSupplier$3(Retry.java:212)",
		"com.example.payments.service.PaymentService.capture(PaymentService.java:77)",
		"com.example.orders.service.OrderService.checkout(OrderService.java:311)",
	}},
	{"java.sql.SQLTransientConnectionException", "HikariPool-1 - Connection is not available, request timed out after 30000ms.", []string{
		"com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)",
		"com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:181)",
		"com.zaxxer.hikari.HikariDataSource.getConnection(HikariDataSource.java:128)",
		"org.springframework.jdbc.datasource.DataSourceUtils.fetchConnection(DataSourceUtils.java:160)",
		"org.springframework.jdbc.core.JdbcTemplate.execute(JdbcTemplate.java:376)",
		"com.example.users.repository.UserRepository.findById(UserRepository.java:54)",
	}},
	{"java.lang.NullPointerException", "Cannot invoke \"com.example.orders.model.Address.getCountry()\" because \"shipping\" is null", []string{
		"com.example.orders.service.TaxCalculator.rateFor(TaxCalculator.java:63)",
		"com.example.orders.service.OrderService.price(OrderService.java:188)",
		"com.example.orders.web.OrderController.create(OrderController.java:72)",
	}},
	{"org.springframework.dao.DataIntegrityViolationException", "could not execute statement; SQL [n/a]; constraint [ledger_entries_pkey]", []string{
		"org.springframework.orm.jpa.vendor.HibernateJpaDialect.convertHibernateAccessException(HibernateJpaDialect.java:290)",
		"org.springframework.orm.jpa.vendor.HibernateJpaDialect.translateExceptionIfPossible(HibernateJpaDialect.java:241)",
		"org.springframework.orm.jpa.JpaTransactionManager.doCommit(JpaTransactionManager.java:566)",
		"com.example.payments.ledger.LedgerService.post(LedgerService.java:120)",
	}},
	{"java.util.concurrent.TimeoutException", "Waited 2 seconds for com.example.recommender.ModelCache$Loader", []string{
		"com.google.common.util.concurrent.AbstractFuture.get(AbstractFuture.java:557)",
		"com.example.recommender.ModelCache.get(ModelCache.java:91)",
		"com.example.recommender.RecommendationService.forUser(RecommendationService.java:48)",
	}},
}

// oom is the rare exception the benchmark's filter query looks for ("OutOfMemoryError").
var oom = exception{"java.lang.OutOfMemoryError", "Java heap space", []string{
	"java.base/java.util.Arrays.copyOf(Arrays.java:3537)",
	"java.base/java.io.ByteArrayOutputStream.ensureCapacity(ByteArrayOutputStream.java:100)",
	"com.example.billing.InvoiceRenderer.render(InvoiceRenderer.java:212)",
}}

// framework frames sit between the application's frames and the thread's root.
var springFrames = []string{
	"org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerAdapter.invokeHandlerMethod(RequestMappingHandlerAdapter.java:885)",
	"org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerAdapter.handleInternal(RequestMappingHandlerAdapter.java:797)",
	"org.springframework.web.servlet.DispatcherServlet.doDispatch(DispatcherServlet.java:1089)",
	"org.springframework.web.servlet.DispatcherServlet.doService(DispatcherServlet.java:979)",
	"org.springframework.web.servlet.FrameworkServlet.processRequest(FrameworkServlet.java:1014)",
	"jakarta.servlet.http.HttpServlet.service(HttpServlet.java:658)",
	"org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:138)",
	"org.apache.catalina.core.StandardWrapperValve.invoke(StandardWrapperValve.java:165)",
	"org.apache.catalina.connector.CoyoteAdapter.service(CoyoteAdapter.java:341)",
	"org.apache.tomcat.util.net.NioEndpoint$SocketProcessor.doRun(NioEndpoint.java:1744)",
	"java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1144)",
	"java.base/java.lang.Thread.run(Thread.java:1583)",
}
