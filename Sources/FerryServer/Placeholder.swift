import Hummingbird
import GRDB
import Prometheus
import HummingbirdTLS
import X509
import ServiceLifecycle
