/* The admin's live map: online drivers by state and the active orders, kept up to date
 * over the staff's websocket (ws/ops/map/, vtc_dispatch_django.livemap).
 *
 * The socket sends a `map_snapshot` (everything), then `map_update` batches (the latest
 * position of each driver who moved, the drivers and orders whose state changed, those
 * gone) and a fresh snapshot now and then.  Messages are applied once per animation
 * frame, markers are drawn on one canvas: thousands of drivers stay smooth.  A click on
 * a driver or an order asks the server for its details and its routes so far.
 *
 * Works with no tile server: the cities' outlines come from the page itself.
 * Coordinates from the server are {lat, lng}; GeoJSON's are [lng, lat].
 */
(function () {
  "use strict";

  var COLOURS = {
    available: "#2e9d44",
    offered: "#e6a100",
    on_the_way: "#1f6fd1",
    on_ride: "#8a2bb8",
    silent: "#8d8d8d",
    blocked: "#c0392b",
  };
  var ORDER_COLOUR = "#d35400";
  var CITY_STYLE = { color: "#555", weight: 1, dashArray: "4 4", fillOpacity: 0.03, interactive: false };
  var ROUTE_STYLES = {
    planned: { color: "#555", weight: 2, dashArray: "6 6" },
    approach: { color: COLOURS.on_the_way, weight: 4 },
    actual: { color: COLOURS.on_ride, weight: 4 },
  };
  var CLOSED_FOR_GOOD = { 4401: "Log in again: the session ended.", 4403: "The live map is for staff users only." };

  function readJSON(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function LiveMap(root) {
    this.root = root;
    this.config = readJSON("vtc-live-map-config");
    this.status = root.querySelector(".vtc-live-map__status");
    this.panel = root.querySelector(".vtc-live-map__details");
    this.drivers = new Map();
    this.orders = new Map();
    this.queue = [];
    this.messages = 0;
    this.frame = null;
    this.fitted = false;
    this.retry = 1000;
    this.selection = L.featureGroup();

    var map = L.map(root.querySelector(".vtc-live-map__canvas"), { preferCanvas: true, zoomSnap: 0.25 });
    if (root.dataset.tileUrl) {
      // Tiles are only a backdrop: a tile that fails to load leaves the map usable.
      L.tileLayer(root.dataset.tileUrl, { attribution: root.dataset.attribution || "", maxZoom: 19 }).addTo(map);
    }
    L.control.scale({ imperial: false }).addTo(map);
    var cities = L.featureGroup().addTo(map);
    (readJSON("vtc-live-map-cities") || []).forEach(function (city) {
      try {
        L.geoJSON(city.area, { style: CITY_STYLE }).bindTooltip(city.label).addTo(cities);
      } catch (e) {
        // An area Leaflet cannot read is only a missing backdrop.
      }
    });
    if (cities.getLayers().length) {
      map.fitBounds(cities.getBounds());
      this.fitted = true;
    } else {
      map.setView([0, 0], 2);
    }
    this.orderLayer = L.featureGroup().addTo(map);
    this.driverLayer = L.featureGroup().addTo(map);
    this.selection.addTo(map);
    this.map = map;
    this.connect();
    var self = this;
    document.addEventListener("visibilitychange", function () {
      // A hidden tab draws nothing: back in view, start again from a fresh snapshot.
      if (!document.hidden && self.socket && self.socket.readyState === WebSocket.OPEN) {
        self.queue = [];
        self.socket.send(JSON.stringify({ type: "snapshot" }));
      }
    });
  }

  LiveMap.prototype.say = function (text) {
    this.status.textContent = text;
  };

  LiveMap.prototype.connect = function () {
    var self = this;
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + this.config.socket);
    this.socket = socket;
    socket.onopen = function () {
      self.retry = 1000;
      self.say("Connected: waiting for the map…");
    };
    socket.onmessage = function (message) {
      if (document.hidden) return;
      self.queue.push(JSON.parse(message.data));
      if (self.frame === null) {
        self.frame = window.requestAnimationFrame(function () {
          self.frame = null;
          self.drain();
        });
      }
    };
    socket.onclose = function (event) {
      if (CLOSED_FOR_GOOD[event.code]) {
        self.say(CLOSED_FOR_GOOD[event.code]);
        return;
      }
      self.say("Disconnected: trying again…");
      window.setTimeout(function () {
        self.connect();
      }, self.retry);
      self.retry = Math.min(self.retry * 2, 15000);
    };
  };

  LiveMap.prototype.drain = function () {
    var queue = this.queue;
    this.queue = [];
    for (var i = 0; i < queue.length; i++) {
      var message = queue[i];
      if (message.type === "map_snapshot") this.snapshot(message);
      else if (message.type === "map_update") this.update(message);
      this.messages += 1;
      this.at = message.at;
    }
    this.count();
  };

  LiveMap.prototype.snapshot = function (message) {
    var self = this;
    var drivers = new Set();
    var orders = new Set();
    message.drivers.forEach(function (view) {
      drivers.add(view.id);
      self.putDriver(view);
    });
    message.orders.forEach(function (view) {
      orders.add(view.id);
      self.putOrder(view);
    });
    Array.from(this.drivers.keys()).forEach(function (id) {
      if (!drivers.has(id)) self.dropDriver(id);
    });
    Array.from(this.orders.keys()).forEach(function (id) {
      if (!orders.has(id)) self.dropOrder(id);
    });
    this.truncated = message.truncated;
    if (!this.fitted && (this.driverLayer.getLayers().length || this.orderLayer.getLayers().length)) {
      var bounds = this.driverLayer.getBounds().extend(this.orderLayer.getBounds());
      if (bounds.isValid()) this.map.fitBounds(bounds, { maxZoom: 15 });
      this.fitted = true;
    }
  };

  LiveMap.prototype.update = function (message) {
    var self = this;
    message.moves.forEach(function (move) {
      var driver = self.drivers.get(move[0]);
      if (driver) {
        driver.view.position = { lat: move[1], lng: move[2] };
        driver.marker.setLatLng([move[1], move[2]]);
      }
    });
    message.drivers.forEach(function (view) {
      self.putDriver(view);
    });
    message.gone_drivers.forEach(function (id) {
      self.dropDriver(id);
    });
    message.orders.forEach(function (view) {
      self.putOrder(view);
    });
    message.gone_orders.forEach(function (id) {
      self.dropOrder(id);
    });
  };

  LiveMap.prototype.putDriver = function (view) {
    var self = this;
    var point = [view.position.lat, view.position.lng];
    var style = { radius: 5, color: "#fff", weight: 1, fillColor: COLOURS[view.state] || "#000", fillOpacity: 0.95 };
    var known = this.drivers.get(view.id);
    if (known) {
      known.view = view;
      known.marker.setLatLng(point).setStyle(style);
      return;
    }
    var marker = L.circleMarker(point, style).addTo(this.driverLayer);
    marker.on("click", function () {
      self.showDriver(view.id);
    });
    this.drivers.set(view.id, { view: view, marker: marker });
  };

  LiveMap.prototype.dropDriver = function (id) {
    var known = this.drivers.get(id);
    if (known) {
      this.driverLayer.removeLayer(known.marker);
      this.drivers.delete(id);
    }
  };

  LiveMap.prototype.putOrder = function (view) {
    var self = this;
    var pickup = [view.pickup.lat, view.pickup.lng];
    var destination = [view.destination.lat, view.destination.lng];
    var known = this.orders.get(view.id);
    if (known) {
      known.view = view;
      known.pickup.setLatLng(pickup);
      known.destination.setLatLng(destination);
      known.line.setLatLngs([pickup, destination]);
      return;
    }
    var group = L.featureGroup([
      L.polyline([pickup, destination], { color: ORDER_COLOUR, weight: 1, opacity: 0.6, dashArray: "3 5" }),
      L.circleMarker(pickup, { radius: 6, color: ORDER_COLOUR, weight: 2, fillColor: "#fff", fillOpacity: 1 }),
      L.circleMarker(destination, { radius: 3, color: ORDER_COLOUR, weight: 1, fillColor: ORDER_COLOUR, fillOpacity: 1 }),
    ]);
    group.on("click", function () {
      self.showOrder(view.id);
    });
    group.addTo(this.orderLayer);
    // One canvas draws (and hit-tests) in the order layers came: orders go under the drivers.
    group.eachLayer(function (layer) {
      layer.bringToBack();
    });
    var layers = group.getLayers();
    this.orders.set(view.id, { view: view, group: group, line: layers[0], pickup: layers[1], destination: layers[2] });
  };

  LiveMap.prototype.dropOrder = function (id) {
    var known = this.orders.get(id);
    if (known) {
      this.orderLayer.removeLayer(known.group);
      this.orders.delete(id);
    }
  };

  LiveMap.prototype.count = function () {
    var counts = { orders: this.orders.size };
    Object.keys(COLOURS).forEach(function (state) {
      counts[state] = 0;
    });
    this.drivers.forEach(function (driver) {
      counts[driver.view.state] = (counts[driver.view.state] || 0) + 1;
    });
    Object.keys(counts).forEach(function (key) {
      var cell = this.root.querySelector('[data-count="' + key + '"]');
      if (cell) cell.textContent = String(counts[key]);
    }, this);
    var when = this.at ? new Date(this.at).toLocaleTimeString() : "";
    this.say(
      "Live: " + this.drivers.size + " drivers, " + this.orders.size + " orders" +
        (this.truncated ? " (more than the page holds: the most recent shown)" : "") +
        (when ? ", as of " + when : "")
    );
  };

  // -- details of what was clicked ---------------------------------------------------

  LiveMap.prototype.fetch = function (url, done) {
    var self = this;
    this.panel.textContent = "Loading…";
    window
      .fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) {
        return answer.json().then(function (body) {
          if (!answer.ok) throw new Error(body.detail || answer.statusText);
          return body;
        });
      })
      .then(done)
      .catch(function (error) {
        self.panel.textContent = "Could not load the details: " + error.message;
      });
  };

  LiveMap.prototype.showDriver = function (id) {
    var self = this;
    this.fetch(this.config.driver_url.replace(this.config.placeholder, encodeURIComponent(id)), function (body) {
      var driver = body.driver;
      self.panel.replaceChildren(
        heading("Driver " + (driver.name || driver.driver_id), body.state),
        table([
          ["Id", driver.driver_id],
          ["State", body.state.replace(/_/g, " ")],
          ["Phone", driver.phone],
          ["Vehicle", driver.vehicle],
          ["Plate", driver.plate],
          ["Rating", driver.rating === null ? null : driver.rating.toFixed(2)],
          ["Presence", driver.presence],
          ["Position at", time(driver.position_at)],
          ["Heard at", time(driver.seen_at)],
          ["Order", body.order ? body.order.id + " (" + body.order.state + ")" : null],
        ])
      );
      if (body.order) self.panel.appendChild(orderTable(body.order));
      self.select(body.route, [driver.position.lat, driver.position.lng]);
    });
  };

  LiveMap.prototype.showOrder = function (id) {
    var self = this;
    this.fetch(this.config.order_url.replace(this.config.placeholder, encodeURIComponent(id)), function (body) {
      var order = body.order;
      self.panel.replaceChildren(heading("Order " + order.id, null), orderTable(order));
      var driver = body.driver;
      if (driver) {
        self.panel.appendChild(
          table([
            ["Driver", (driver.name || driver.driver_id) + (driver.plate ? " (" + driver.plate + ")" : "")],
            ["Phone", driver.phone],
            ["Presence", driver.presence],
            ["Heard at", time(driver.seen_at)],
          ])
        );
      }
      self.select(body.route, driver ? [driver.position.lat, driver.position.lng] : null);
    });
  };

  LiveMap.prototype.select = function (route, point) {
    this.selection.clearLayers();
    if (route) {
      L.geoJSON(route, {
        style: function (feature) {
          return ROUTE_STYLES[feature.properties.route] || {};
        },
        interactive: false,
      }).addTo(this.selection);
    }
    if (point) {
      L.circleMarker(point, { radius: 10, color: "#000", weight: 2, fill: false, interactive: false }).addTo(this.selection);
    }
    var bounds = this.selection.getBounds();
    if (bounds.isValid()) this.map.fitBounds(bounds, { maxZoom: 16, padding: [40, 40] });
  };

  function time(text) {
    return text ? new Date(text).toLocaleTimeString() : null;
  }

  function heading(text, state) {
    var node = document.createElement("h3");
    if (state) {
      var dot = document.createElement("span");
      dot.className = "vtc-live-map__dot vtc-live-map__dot--" + state;
      node.appendChild(dot);
    }
    node.appendChild(document.createTextNode(text));
    return node;
  }

  function table(rows) {
    var node = document.createElement("table");
    rows.forEach(function (row) {
      if (row[1] === null || row[1] === undefined || row[1] === "") return;
      var tr = node.insertRow();
      var th = document.createElement("th");
      th.textContent = row[0];
      tr.appendChild(th);
      tr.insertCell().textContent = String(row[1]);
    });
    return node;
  }

  function orderTable(order) {
    return table([
      ["Order", order.id],
      ["Kind", order.kind],
      ["State", order.state],
      ["Vehicle type", order.vehicle_type],
      ["Customer", order.customer_id],
      ["Driver", order.driver_id],
      ["Payment", order.payment_method + " (" + order.payment_status + ")"],
      ["Quote", order.quote.display],
      ["Offers made", order.offers_made],
      ["Created", time(order.created_at)],
    ]);
  }

  document.querySelectorAll(".vtc-live-map").forEach(function (root) {
    root.vtcLiveMap = new LiveMap(root);
  });
})();
