<%@ page contentType="text/plain; charset=UTF-8" session="false" trimDirectiveWhitespaces="true" %><%
  // status.jsp?code=N answers status N (100..999; default 200). Optional: header=Name:Value
  // (repeatable) adds response headers; body=text sets the body (never sent for 204 and 304).
  int code = 200;
  try { code = Integer.parseInt(String.valueOf(request.getParameter("code"))); } catch (NumberFormatException e) { code = 200; }
  if (code < 100 || code > 999) code = 200;
  response.setStatus(code);
  String[] hs = request.getParameterValues("header");
  if (hs != null) {
    for (String h : hs) {
      int i = h.indexOf(':');
      if (i > 0) response.addHeader(h.substring(0, i).trim(), h.substring(i + 1).trim());
    }
  }
  String body = request.getParameter("body");
  if (body != null && code != 204 && code != 304) out.print(body);
%>