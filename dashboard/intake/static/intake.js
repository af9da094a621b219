/* onenet QR intake form: inline validation, staff rows, paste from a spreadsheet, idempotent submit.
 * The server runs the same checks (the ingest pipeline's); these only tell the person early. */
(function () {
  "use strict";
  var form = document.getElementById("intake");
  if (!form) { return; }
  var F = window.OnenetForm;
  var maxStaff = parseInt(form.getAttribute("data-max-staff"), 10) || 500;
  var rowsBox = document.getElementById("staff-rows");
  var template = document.getElementById("staff-row-template");
  var errorsBox = document.getElementById("form-errors");
  var sid = F.submissionId(form);  /* made on the phone (intake-form.js, shared) */

  /* ---------------------------------------------------------------- value checks (intake-checks.js, shared) */
  var C = window.OnenetChecks, half = C.half, checkId = C.checkId, checkPhone = C.checkPhone, normDate = C.normDate,
      checkDate = C.checkDate, checkCount = C.checkCount, checkUscc = C.checkUscc;

  /* ---------------------------------------------------------------- showing messages */
  function setMsg(el, msg) { return F.setMsg(el.closest(".f") || el.parentNode, el, msg); }
  function rowIsEmpty(row) {
    return Array.prototype.every.call(row.querySelectorAll("input, select"), function (i) { return !half(i.value); });
  }
  function checkField(el) {
    var kind = el.getAttribute("data-check"), v = el.value, msg = "";
    var row = el.closest(".staff-row");
    if (kind === "id") { msg = row && rowIsEmpty(row) ? "" : checkId(v); }
    else if (kind === "phone") { msg = checkPhone(v); }
    else if (kind === "date") { msg = checkDate(v, el); }
    else if (kind === "count") {
      msg = checkCount(v);
      if (!msg && el.id === "staff_returned") { msg = totalsMessage(); }
      if (el.id === "staff_total") { setMsg(el, msg); checkTotals(); return msg; }
    }
    else if (kind === "uscc") { msg = checkUscc(v); }
    else if (kind === "enterprise") { msg = v ? "" : "请选择企业（列表中没有时选最后一项新登记）"; }
    else if (kind === "required") { msg = half(v) ? "" : "请填写企业名称"; }
    else if (kind === "reopened") { return checkReopened(); }
    else if (kind === "name") {
      msg = "";
      if (row) { var id = row.querySelector("[data-check=id]"); if (id.getAttribute("data-touched")) { setMsg(id, rowIsEmpty(row) ? "" : checkId(id.value)); } }
    }
    return setMsg(el, msg);
  }
  function totalsMessage() {
    var tv = half(document.getElementById("staff_total").value), rv = half(document.getElementById("staff_returned").value);
    return /^\d+$/.test(tv) && /^\d+$/.test(rv) && +rv > +tv ? "已返岗人数大于员工总数：请核对" : "";
  }
  function checkTotals() {
    var r = document.getElementById("staff_returned");
    return setMsg(r, checkCount(r.value) || totalsMessage());
  }
  function checkReopened() {
    var chosen = form.querySelector("input[name=reopened]:checked");
    var group = document.getElementById("reopened-group"), span = group.querySelector(".msg");
    if (chosen) { if (span) { span.parentNode.removeChild(span); } group.classList.remove("invalid"); return ""; }
    if (!span) { span = document.createElement("span"); span.className = "msg"; group.appendChild(span); }
    span.textContent = "请选择是否已复工"; group.classList.add("invalid");
    return span.textContent;
  }
  function isRequiredNow(el) {
    if (el.closest("[hidden]")) { return false; }
    var kind = el.getAttribute("data-check");
    return kind === "enterprise" || kind === "required" || kind === "reopened";
  }

  /* as the person types: complete values at once, everything once the field is left */
  form.addEventListener("input", function (ev) {
    var el = ev.target, kind = el.getAttribute && el.getAttribute("data-check");
    if (!kind) { return; }
    if (kind === "id") {
      var v = half(el.value).replace(/\s/g, "");
      if (el.getAttribute("data-touched") || v.length >= 18) { el.setAttribute("data-touched", "1"); checkField(el); }
      return;
    }
    if (kind === "phone" && !el.getAttribute("data-touched")) {
      var p = half(el.value).replace(/[\s\-]/g, "");
      if (!(p.length >= 11 || /[^\d+]/.test(p))) { return; }
    }
    if (kind === "uscc" && half(el.value).length < 18 && !el.getAttribute("data-touched")) { return; }
    checkField(el);
  });
  /* the summary of problems goes once the last of them is fixed */
  form.addEventListener("input", function () {
    if (!errorsBox.hidden && !form.querySelector(".msg")) { showErrors([]); }
  });
  form.addEventListener("focusout", function (ev) {
    var el = ev.target, kind = el.getAttribute && el.getAttribute("data-check");
    if (!kind || kind === "reopened") { return; }
    el.setAttribute("data-touched", "1");
    if (kind === "enterprise" || kind === "required") { if (half(el.value)) { checkField(el); } return; }
    checkField(el);
  });
  form.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el.name === "reopened") { checkReopened(); toggleDates(); }
    if (el.id === "enterprise_id") { toggleNew(true); checkField(el); }
    if (el.tagName === "SELECT" || el.type === "date") { checkField(el); }
  });

  /* a building without registered enterprises has no list: its form posts enterprise_id=new from a hidden field */
  function toggleNew(focus) {
    var isNew = document.getElementById("enterprise_id").value === "new";
    document.getElementById("new-enterprise").hidden = !isNew;
    if (isNew && focus) { document.getElementById("enterprise_name").focus(); }
  }
  function toggleDates() {
    var chosen = form.querySelector("input[name=reopened]:checked");
    var open = chosen && chosen.value === "是";
    document.getElementById("actual-wrap").hidden = chosen ? !open : false;
    document.getElementById("planned-wrap").hidden = chosen ? !!open : false;
  }

  /* ---------------------------------------------------------------- staff rows */
  function rows() { return Array.prototype.slice.call(rowsBox.querySelectorAll(".staff-row")); }
  function renumber() {
    var all = rows(), filled = 0;
    all.forEach(function (row, i) {
      row.querySelector(".row-no").textContent = "第 " + (i + 1) + " 人";
      if (!rowIsEmpty(row)) { filled++; }
    });
    document.getElementById("staff-count").textContent = String(filled);
  }
  function addRow(focus) {
    if (rows().length >= maxStaff) { showErrors(["返岗人员一次最多 " + maxStaff + " 行：请分批提交"]); return null; }
    var row = template.content.firstElementChild.cloneNode(true);
    rowsBox.appendChild(row);
    renumber();
    if (focus) { row.querySelector("input").focus(); }
    return row;
  }
  document.getElementById("add-row").addEventListener("click", function () { addRow(true); });
  rowsBox.addEventListener("click", function (ev) {
    if (!ev.target.classList.contains("remove-row")) { return; }
    var row = ev.target.closest(".staff-row");
    if (rows().length > 1) { row.parentNode.removeChild(row); }
    else { row.querySelectorAll("input, select").forEach(function (i) { i.value = ""; setMsg(i, ""); }); }
    renumber();
  });
  rowsBox.addEventListener("input", renumber);

  /* ---------------------------------------------------------------- paste from a spreadsheet */
  var COLUMNS = ["name", "id_number", "phone", "origin", "return_date", "quarantine_status"];
  var HEADERS = {
    name: ["姓名", "名字", "员工姓名", "人员姓名"],
    id_number: ["身份证号", "身份证号码", "证件号码", "公民身份号码", "身份证"],
    phone: ["手机号", "手机号码", "联系电话", "电话", "联系方式"],
    origin: ["来源地", "返沪前所在地", "出发地", "从何地返沪"],
    return_date: ["返沪日期", "返沪时间", "到沪日期", "抵沪日期", "返岗日期"],
    quarantine_status: ["隔离状态", "隔离情况"]
  };
  var QUARANTINE = { "居家": "居家隔离", "集中": "集中隔离", "解除": "已解除", "已解除隔离": "已解除", "无": "无需隔离", "无需": "无需隔离", "否": "无需隔离" };
  function headerField(cell) {
    var key = half(cell).replace(/[\s*:：]/g, "");
    for (var f in HEADERS) { if (HEADERS[f].indexOf(key) >= 0) { return f; } }
    return null;
  }
  function splitLine(line) {
    if (line.indexOf("\t") >= 0) { return line.split("\t"); }
    if (line.indexOf(",") >= 0 || line.indexOf("，") >= 0) { return line.split(/[,，]/); }
    return line.trim().split(/\s+/);
  }
  function parsePaste(text) {
    var lines = String(text || "").replace(/\r\n?/g, "\n").split("\n").filter(function (l) { return l.trim(); });
    var order = COLUMNS, out = [];
    if (lines.length) {
      var head = splitLine(lines[0]).map(headerField);
      if (head.filter(Boolean).length >= 2) { order = head; lines.shift(); }
    }
    lines.forEach(function (line) {
      var cells = splitLine(line), rec = {};
      order.forEach(function (f, i) { if (f && cells[i] !== undefined) { rec[f] = half(cells[i]); } });
      if (Object.keys(rec).some(function (k) { return rec[k]; })) { out.push(rec); }
    });
    return out;
  }
  function fillRow(row, rec) {
    COLUMNS.forEach(function (f) {
      var el = row.querySelector("[name=staff_" + f + "]"), v = rec[f] || "";
      if (f === "return_date") { var d = normDate(v); v = d || ""; if (d === null && rec[f]) { el.setAttribute("data-raw", rec[f]); } }
      if (f === "quarantine_status") { v = QUARANTINE[v] || v; }
      if (el.tagName === "SELECT") {
        var ok = Array.prototype.some.call(el.options, function (o) { return o.value === v; });
        el.value = ok ? v : "";
      } else { el.value = v; }
    });
    row.querySelectorAll("[data-check]").forEach(function (el) { el.setAttribute("data-touched", "1"); checkField(el); });
    var rd = row.querySelector("[name=staff_return_date]");
    if (rd.getAttribute("data-raw")) { setMsg(rd, "日期“" + rd.getAttribute("data-raw") + "”无法识别：请重新选择"); rd.removeAttribute("data-raw"); }
  }
  function applyPaste(text) {
    var recs = parsePaste(text), added = 0;
    recs.forEach(function (rec) {
      var row = rows().filter(rowIsEmpty)[0] || addRow(false);
      if (!row) { return; }
      fillRow(row, rec); added++;
    });
    renumber();
    return added;
  }
  document.getElementById("toggle-paste").addEventListener("click", function () {
    var panel = document.getElementById("paste-panel");
    panel.hidden = !panel.hidden;
    if (!panel.hidden) { document.getElementById("paste-box").focus(); }
  });
  document.getElementById("paste-apply").addEventListener("click", function () {
    var box = document.getElementById("paste-box"), n = applyPaste(box.value);
    document.getElementById("paste-result").textContent = n ? "已添加 " + n + " 人，请检查标红的项目" : "没有识别到人员行";
    if (n) { box.value = ""; }
  });
  /* pasting several spreadsheet lines straight into a row's field fills rows from there */
  rowsBox.addEventListener("paste", function (ev) {
    var text = (ev.clipboardData || window.clipboardData).getData("text");
    if (!/[\t\n]/.test(text.trim())) { return; }
    ev.preventDefault();
    applyPaste(text);
  });

  /* ---------------------------------------------------------------- submit */
  function showErrors(messages) { F.showErrors(errorsBox, messages); }
  function checkAll() {
    var messages = [], first = null;
    form.querySelectorAll("[data-check]").forEach(function (el) {
      if (el.closest("[hidden]") || el.name === "reopened") { return; }
      var kind = el.getAttribute("data-check");
      if (!isRequiredNow(el) && !half(el.value) && kind !== "id") { setMsg(el, ""); return; }
      el.setAttribute("data-touched", "1");
      var msg = checkField(el);
      if (msg) {
        var row = el.closest(".staff-row");
        messages.push((row ? row.querySelector(".row-no").textContent + "：" : "") + msg);
        first = first || el;
      }
    });
    var r = checkReopened();
    if (r) { messages.unshift(r); first = first || form.querySelector("input[name=reopened]"); }
    var t = checkTotals();
    if (t) { messages.push(t); }
    return { messages: messages, first: first };
  }
  function markServerErrors(errors) {
    errors.forEach(function (e) {
      var el = null;
      if (e.section === "staff" && e.row) {
        var row = rows()[e.row - 1];
        if (row && e.field) { el = row.querySelector("[name=staff_" + e.field + "]"); }
      } else if (e.field) { el = form.querySelector("[name=" + e.field + "]"); }
      if (el && el.type !== "hidden") { setMsg(el, e.message.replace(/^返岗人员第 \d+ 行：/, "")); }
    });
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var result = checkAll();
    if (result.messages.length) {
      showErrors(result.messages);
      if (result.first) { result.first.focus(); }
      errorsBox.scrollIntoView({ block: "start", behavior: "smooth" });
      return;
    }
    F.send(form, sid, markServerErrors);
  });

  toggleNew(false); toggleDates(); renumber();
})();
