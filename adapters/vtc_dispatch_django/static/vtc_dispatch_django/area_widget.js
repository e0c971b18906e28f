/* The admin's area field: a Leaflet map on which the operator draws and edits
 * polygons (Leaflet-Geoman), kept in step with the GeoJSON text the form posts.
 *
 * Works with no tile server: the map's background is plain, the city outline
 * and the other zones are drawn from the page's own data, and drawing needs
 * nothing from the network.  Coordinates are GeoJSON's [lng, lat].
 */
(function () {
  "use strict";

  var CONTEXT_STYLE = { color: "#555", weight: 1, dashArray: "4 4", fillOpacity: 0.03 };
  var AREA_STYLE = { color: "#d35400", weight: 2, fillOpacity: 0.25 };

  function polygonsOf(geometry) {
    if (!geometry) return [];
    if (geometry.type === "Polygon") return [geometry.coordinates];
    if (geometry.type === "MultiPolygon") return geometry.coordinates;
    return [];
  }

  function parse(text) {
    if (!text || !text.trim()) return null;
    try {
      var value = JSON.parse(text);
      return value && typeof value === "object" ? value : null;
    } catch (e) {
      return null;
    }
  }

  function setUp(root) {
    var textarea = root.querySelector("textarea");
    var canvas = root.querySelector(".vtc-area-map__canvas");
    var status = root.querySelector(".vtc-area-map__status");
    var contextScript = document.getElementById(root.dataset.contextId);
    var context = contextScript ? JSON.parse(contextScript.textContent) : [];

    var map = L.map(canvas, { zoomSnap: 0.25 });
    if (root.dataset.tileUrl) {
      // Tiles are only a backdrop: a tile that fails to load leaves the map usable.
      L.tileLayer(root.dataset.tileUrl, {
        attribution: root.dataset.attribution || "",
        maxZoom: 19,
      }).addTo(map);
    }
    L.control.scale({ imperial: false }).addTo(map);

    var reference = L.featureGroup().addTo(map);
    context.forEach(function (item) {
      try {
        L.geoJSON(item.area, { style: CONTEXT_STYLE, pmIgnore: true, interactive: false })
          // Named where they lie (a tooltip lets clicks through to the drawing tools).
          .bindTooltip(item.label, { permanent: true, direction: "center", opacity: 0.7 })
          .addTo(reference);
      } catch (e) {
        // A stored area Leaflet cannot read is only a missing backdrop, not a broken form.
      }
    });

    var drawn = L.featureGroup().addTo(map);
    map.pm.setGlobalOptions({ layerGroup: drawn, pathOptions: AREA_STYLE, snappable: false });
    map.pm.addControls({
      position: "topleft",
      drawMarker: false,
      drawCircleMarker: false,
      drawPolyline: false,
      drawCircle: false,
      drawText: false,
      drawRectangle: true,
      drawPolygon: true,
      editMode: true,
      dragMode: true,
      cutPolygon: false,
      rotateMode: false,
      removalMode: true,
    });

    function show(text) {
      if (status) status.textContent = text;
    }

    function watch(layer) {
      layer.on("pm:edit pm:update pm:dragend pm:vertexadded pm:vertexremoved", write);
    }

    function read() {
      drawn.clearLayers();
      var value = parse(textarea.value);
      polygonsOf(value).forEach(function (rings) {
        var layer = L.polygon(
          rings.map(function (ring) {
            return ring.map(function (p) {
              return [p[1], p[0]];
            });
          }),
          AREA_STYLE
        );
        drawn.addLayer(layer);
        watch(layer);
      });
    }

    function write() {
      var polygons = [];
      drawn.eachLayer(function (layer) {
        if (map.hasLayer(layer) && layer.toGeoJSON) {
          polygonsOf(layer.toGeoJSON(7).geometry).forEach(function (p) {
            polygons.push(p);
          });
        }
      });
      var value = null;
      if (polygons.length === 1) value = { type: "Polygon", coordinates: polygons[0] };
      if (polygons.length > 1) value = { type: "MultiPolygon", coordinates: polygons };
      textarea.value = value ? JSON.stringify(value) : "";
      show(
        polygons.length === 0
          ? "No area drawn yet: draw a polygon or a rectangle with the tools on the left."
          : polygons.length + " polygon(s) drawn; saving the form keeps them."
      );
    }

    function frame() {
      var bounds = drawn.getLayers().length ? drawn.getBounds() : reference.getBounds();
      if (bounds.isValid()) {
        map.fitBounds(bounds, { padding: [20, 20], maxZoom: 15 });
      } else {
        map.setView([0, 0], 2);
      }
    }

    map.on("pm:create", function (event) {
      watch(event.layer);
      write();
    });
    map.on("pm:remove", write);
    textarea.addEventListener("change", function () {
      read();
      frame();
    });

    read();
    frame();
    // The admin lays its columns out after this runs (the sidebar, the fieldsets):
    // the map follows its container's size, or clicks land on the wrong points.
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        map.invalidateSize();
      }).observe(canvas);
    }
    show(
      drawn.getLayers().length
        ? "Edit the area with the tools on the left; saving the form keeps it."
        : "No area drawn yet: draw a polygon or a rectangle with the tools on the left."
    );
    // Tests and scripts reach the map through the field's element.
    root.vtcAreaMap = { map: map, drawn: drawn, reference: reference };
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll(".vtc-area-map"), setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
