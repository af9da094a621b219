/* onenet QR intake, collections (信息收集): on the building's form, the open collections of the chosen enterprise;
 * on a collection's form, field checks as the server's, an idempotent submit and the server's errors per field. */
(function () {
  "use strict";
  var C = window.OnenetChecks, F = window.OnenetForm;

  /* ---------------------------------------------------------------- the building's form: the list */
  function listOnBuildingForm(box) {
    var select = document.getElementById("enterprise_id"), list = document.getElementById("collections-list");
    var count = document.getElementById("collections-count"), asked = 0;
    function show(items) {
      list.textContent = "";
      items.forEach(function (c) {
        var li = document.createElement("li"), a = document.createElement("a");
        a.href = c.url; a.className = "collection-item" + (c.answered ? " answered" : "");
        var title = document.createElement("span"); title.className = "c-title"; title.textContent = c.title;
        var meta = document.createElement("span"); meta.className = "c-meta";
        meta.textContent = (c.department ? c.department + " · " : "") + "截止 " + c.deadline;
        var state = document.createElement("span"); state.className = "c-state";
        state.textContent = c.answered ? "✓ 已填" : "待填";
        a.appendChild(title); a.appendChild(state); a.appendChild(meta);
        li.appendChild(a); list.appendChild(li);
      });
      count.textContent = String(items.length);
      box.hidden = !items.length;
    }
    function load() {
      var id = select.value, mine = ++asked;
      if (!/^\d+$/.test(id)) { show([]); return; }
      F.fetchJson(box.getAttribute("data-url") + "?enterprise_id=" + encodeURIComponent(id),
                { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (res) { if (mine === asked) { show(res.data && res.data.ok ? res.data.collections : []); } })
        .catch(function () { if (mine === asked) { show([]); } });
    }
    select.addEventListener("change", load);
    var wanted = new URLSearchParams(window.location.search).get("enterprise_id");
    if (wanted && !select.value && Array.prototype.some.call(select.options, function (o) { return o.value === wanted; })) {
      select.value = wanted;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    } else if (select.value) { load(); }
  }

  /* ---------------------------------------------------------------- a collection's form */
  function collectionForm(form) {
    var errorsBox = document.getElementById("form-errors"), sid = F.submissionId(form);

    function fields() { return Array.prototype.slice.call(form.querySelectorAll("[data-field]")); }
    function inputs(box) { return Array.prototype.slice.call(box.querySelectorAll("input")); }
    function valueOf(box) {
      var type = box.getAttribute("data-type");
      if (type === "yes_no" || type === "choice" || type === "choices") {
        return inputs(box).filter(function (i) { return i.checked; }).map(function (i) { return i.value; }).join("、");
      }
      return C.half(box.querySelector("input").value);
    }
    function setMsg(box, msg) { return F.setMsg(box, box.querySelector("input"), msg); }
    function bounded(box, n) {
      var min = box.querySelector("[data-min]"), max = box.querySelector("[data-max]");
      var lo = min ? parseFloat(min.getAttribute("data-min")) : null, hi = max ? parseFloat(max.getAttribute("data-max")) : null;
      if ((lo !== null && n < lo) || (hi !== null && n > hi)) {
        return "超出允许的范围：应在 " + (lo === null ? "" : lo) + "–" + (hi === null ? "" : hi) + " 之间";
      }
      return "";
    }
    function message(box) {
      var type = box.getAttribute("data-type"), v = valueOf(box), input = box.querySelector("input");
      if (input.validity && input.validity.badInput) { return "日期无效：请重新选择"; }
      if (!v) { return box.getAttribute("data-required") ? (type === "choice" || type === "choices" || type === "yes_no" ? "请选择" : "请填写") : ""; }
      if (type === "integer") {
        var i = v.replace(/[\s,人名个位]/g, "");  /* as the reopening form's counts, and the server's parser */
        return /^\d+$/.test(i) ? bounded(box, parseInt(i, 10)) : "应为不小于 0 的整数";
      }
      if (type === "number") {
        var n = v.replace(/\s/g, "");
        return /^-?\d+(\.\d+)?$/.test(n) ? bounded(box, parseFloat(n)) : "应为数字";
      }
      if (type === "phone") { return C.checkPhone(v); }
      if (type === "resident_id") { return C.checkId(v); }
      if (type === "uscc") { return C.checkUscc(v); }
      if (type === "date") { return C.checkDate(v, input); }
      return "";
    }
    function check(box) { return setMsg(box, message(box)); }

    form.addEventListener("focusout", function (ev) {
      var box = ev.target.closest && ev.target.closest("[data-field]");
      if (box && ev.target.type !== "radio" && ev.target.type !== "checkbox") { box.setAttribute("data-touched", "1"); check(box); }
    });
    form.addEventListener("input", function (ev) {
      var box = ev.target.closest && ev.target.closest("[data-field]");
      if (box && box.getAttribute("data-touched")) { check(box); }
      if (!errorsBox.hidden && !form.querySelector(".msg")) { showErrors([]); }
    });
    form.addEventListener("change", function (ev) {
      var box = ev.target.closest && ev.target.closest("[data-field]");
      if (box) { box.setAttribute("data-touched", "1"); check(box); }
      if (!errorsBox.hidden && !form.querySelector(".msg")) { showErrors([]); }
    });

    function showErrors(messages) {
      F.showErrors(errorsBox, messages);
      if (messages.length) { errorsBox.scrollIntoView({ block: "start", behavior: "smooth" }); }
    }
    function labelOf(box) {
      var l = box.querySelector("[id^=label-]");
      return (l ? l.firstChild.textContent : box.firstChild.textContent).replace(/\*/g, "").trim();
    }
    function markServerErrors(errors) {
      errors.forEach(function (e) {
        var box = e.field ? form.querySelector("[data-field='" + String(e.field).replace(/[^a-z0-9_]/g, "") + "']") : null;
        if (box) { setMsg(box, e.label ? e.message.replace(e.label + "：", "") : e.message); }
      });
    }

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var messages = [], first = null;
      fields().forEach(function (box) {
        var msg = check(box);
        if (msg) { messages.push(labelOf(box) + "：" + msg); first = first || box.querySelector("input"); }
      });
      if (messages.length) { showErrors(messages); if (first) { first.focus({ preventScroll: true }); } return; }
      F.send(form, sid, markServerErrors);
    });
  }

  var box = document.getElementById("collections");
  if (box && document.getElementById("enterprise_id") && document.getElementById("enterprise_id").tagName === "SELECT") {
    listOnBuildingForm(box);
  }
  var form = document.getElementById("collection");
  if (form) { collectionForm(form); }
})();
